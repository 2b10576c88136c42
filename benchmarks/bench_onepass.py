"""The one-pass recipe on a full-size EB (alma_large: 43 antennas, 4 x 64 channels, 2-s
integrations, 6.07 M rows, ~7 GB; --scale 4 for 4x longer).

Prints, as JSON lines:
- single_read: a plain read (no processing) of the calibrator rows' DATA, FLAG, WEIGHT and
  keys through python-casacore, the reference for "read once";
- write_compare: write-back (write_model creating MODEL_DATA) against a plain sequential write of
  the same bytes (a new column of the same storage manager, write-back's 8-MiB putcols in row
  order), alternated in one process from a synced disk, medians of 2;
- recipe: `fluxpipe run gfluxscale` as its own process (weblog included): whole-process
  seconds, peak RSS, seconds per stage, bytes read from the MS and passes, bytes written.
MODEL_DATA is removed before each recipe run so write-back creates it, as on a fresh EB; the
disk is synced before each timed write (neither timed write syncs at its end, as CASA's don't).
Targets: passes == 1; phaseup+ampsolve+fluxtransfer <= 2 x single_read;
writeback <= 1.3 x plain_write; peak RSS <= 1 GB and flat with --scale 4.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

from common import RESULTS, measure, report, simulated


def drop_column(ms: str, col: str) -> None:
    from casacore.tables import table
    t = table(ms, ack=False, readonly=False)
    if col in t.colnames():
        t.removecols(col)
    t.close()


def single_read(ms: str) -> dict:
    """Read the calibrator rows once, in the pipeline's chunking, doing nothing with them."""
    from fluxpipe.ms import iter_chunks, read_metadata, select
    md = read_metadata(ms)
    sel = select(md, intent="AMPLITUDE,BANDPASS,PHASE,CHECK")
    t = time.perf_counter()
    nbytes = rows = 0
    for ch in iter_chunks(md, sel):
        nbytes += ch.data.nbytes + ch.flag.nbytes + ch.weight.nbytes
        rows += len(ch.rows)
    return {"read_s": time.perf_counter() - t, "rows": rows, "MB": nbytes / 1e6}


def write_compare(ms: str, repeats: int = 2) -> dict:
    """Write-back vs a plain sequential write of the same bytes, alternated in one process from
    a synced, settled disk (separate runs differ by 3x with the page cache's state alone).

    plain: a new column of MODEL_DATA's storage manager, 1+0j in every row, in write-back's
    8-MiB putcols in row order. write-back: write_model creating MODEL_DATA with the reference
    field's model and the default elsewhere, as the writeback stage does."""
    import numpy as np
    from casacore.tables import makearrcoldesc, maketabdesc, table

    from fluxpipe.ms import read_metadata, select, write_model
    from fluxpipe.ms.model import WRITE_BYTES

    def plain() -> float:
        t = table(ms, ack=False, readonly=False)
        t.addcols(maketabdesc(makearrcoldesc("BENCH_WRITE", 0j, valuetype="complex", ndim=2)),
                  {"TYPE": "TiledShapeStMan", "NAME": "TiledBench",
                   "SPEC": {"DEFAULTTILESHAPE": np.array([2, 64, 1024], np.int32)}})
        shape = t.getcell("DATA", 0).shape
        step = max(1, WRITE_BYTES // (8 * shape[0] * shape[1]))
        block = np.ones((step,) + shape, np.complex64)
        n = t.nrows()
        t0 = time.perf_counter()
        for r in range(0, n, step):
            k = min(step, n - r)
            t.putcol("BENCH_WRITE", block[:k], r, k)
        t.flush()
        dt = time.perf_counter() - t0
        t.close()
        drop_column(ms, "BENCH_WRITE")
        return dt

    def writeback() -> float:
        md = read_metadata(ms)
        t0 = time.perf_counter()
        write_model(md, select(md, field="0"), lambda f, s, fr, uvw: 3.0 * (fr / 1e11)[None, :, None])
        return time.perf_counter() - t0

    t = table(ms, ack=False)
    nbytes = t.nrows() * int(np.prod(t.getcell("DATA", 0).shape)) * 8
    t.close()
    times = {"plain_s": [], "writeback_s": []}
    for _ in range(repeats):
        for name, fn in (("plain_s", plain), ("writeback_s", writeback)):
            drop_column(ms, "MODEL_DATA")
            os.sync()
            time.sleep(2)
            times[name].append(round(fn(), 2))
    med = {k: float(np.median(v)) for k, v in times.items()}
    return {**times, "ratio": round(med["writeback_s"] / med["plain_s"], 3),
            "GB": round(nbytes / 1e9, 2)}


def recipe(ms: str, out: str) -> dict:
    drop_column(ms, "MODEL_DATA")
    shutil.rmtree(out, ignore_errors=True)
    os.sync()       # no earlier run's dirty pages still being flushed
    hwm = out + ".vmhwm"
    # the CLI in a fresh interpreter that reports its own peak RSS (VmHWM) when it exits
    code = ("import atexit, sys; from fluxpipe.cli import main; out = sys.argv[1]; "
            "atexit.register(lambda: open(out, 'w').write("
            "[l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])); "
            "sys.argv = ['fluxpipe'] + sys.argv[2:]; sys.exit(main())")
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code, hwm, "-q", "run", "gfluxscale", ms, "--out", out],
                       stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"fluxpipe run failed with status {r.returncode}")
    peak = int(open(hwm).read()) / 1024
    ctx = json.load(open(os.path.join(out, "context.json")))
    st = next(iter(ctx["ms"].values()))
    stages = {r["stage"]: round(r["seconds"], 3) for r in ctx["results"]}
    return {"process_s": round(wall, 2), "peak_rss_mb": round(peak, 1),
            "stages_s": stages, "cube_pass_s": round(st["cube"]["seconds"], 2), "io": st["io"]}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--preset", default="alma_large")
    ap.add_argument("--write-repeats", type=int, default=2, help="alternations in write_compare")
    args = ap.parse_args()
    t = time.perf_counter()
    ms = measure(simulated, args.preset, args.scale)["extra"]   # in a child: keeps this process small
    print(f"# simulated/cached {ms} in {time.perf_counter() - t:.0f} s", flush=True)
    from common import ms_rows
    name = f"{args.preset} x{args.scale} ({ms_rows(ms)} rows)"
    read = measure(single_read, ms)
    report(f"single_read {name}", read)
    write = measure(write_compare, ms, args.write_repeats)
    report(f"write_compare {name}", write)
    rec = recipe(ms, os.path.join(RESULTS, f"out_{args.preset}_x{args.scale}"))
    s = rec["stages_s"]
    rec["solve_s"] = round(s["phaseup"] + s["ampsolve"] + s["fluxtransfer"], 3)
    rec["solve_over_read"] = round(rec["solve_s"] / read["extra"]["read_s"], 3)
    rec["pass_over_read"] = round(rec["cube_pass_s"] / read["extra"]["read_s"], 3)
    rec["writeback_over_plain_write"] = write["extra"]["ratio"]
    report(f"recipe {name}", rec)
