"""The slow part of the fault matrix: signals at random moments of the MODEL_DATA write-back of
an EB with cells of several shapes (alma_mixed x6: 1.08 M rows), then checks that every
MODEL_DATA cell is defined (python-casacore; an undefined one crashes CASA's reader) and that
--resume completes; and a full output filesystem at several sizes (a tmpfs; needs root).

    python benchmarks/bench_faults.py --tries 10 [--signal SIGINT|SIGTERM|SIGKILL]
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

FP = [sys.executable, "-m", "fluxpipe.cli"]
CHECK = """
from casacore.tables import table
t = table({ms!r}, ack=False)
if 'MODEL_DATA' in t.colnames():
    assert t.query('NOT ISDEFINED(MODEL_DATA)').nrows() == 0, 'undefined MODEL_DATA cells'
"""


def signal_loop(base: str, d: str, tries: int, sig: int) -> dict:
    held, exits = 0, []
    rng = random.Random(1)
    for i in range(tries):
        w = os.path.join(d, f"t{i}")
        ms = os.path.join(w, os.path.basename(base))
        shutil.copytree(base, ms)
        shutil.copy(os.path.join(os.path.dirname(base), "flux.csv"), w)
        p = subprocess.Popen(FP + ["-q", "run", "gfluxscale", ms, "--out", w + "/o", "--no-weblog"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        t0 = time.time()
        while time.time() - t0 < 120 and p.poll() is None:      # the 'writing' mark in context.json
            try:
                c = json.load(open(w + "/o/context.json"))
                if next(iter(c["ms"].values()))["model_data"].startswith("writing"):
                    break
            except (OSError, ValueError, StopIteration, KeyError):
                pass
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.3))
        p.send_signal(sig)
        p.communicate()
        exits.append(p.returncode)
        ok = subprocess.run([sys.executable, "-c", CHECK.format(ms=ms)], capture_output=True).returncode == 0
        r = subprocess.run(FP + ["-q", "run", "gfluxscale", ms, "--out", w + "/o", "--no-weblog", "--resume"],
                           capture_output=True)
        ok &= r.returncode == 0 and subprocess.run([sys.executable, "-c", CHECK.format(ms=ms)]).returncode == 0
        held += ok
        shutil.rmtree(w)
    return {"tries": tries, "held": held, "exit_codes": sorted(set(exits))}


def disk_loop(small: str, d: str, sizes: list[str]) -> dict:
    mnt = os.path.join(d, "fs")
    os.makedirs(mnt)
    res = {}
    for size in sizes:
        if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", mnt], capture_output=True).returncode:
            return {"skipped": "cannot mount a tmpfs"}
        r = subprocess.run(FP + ["-q", "run", "gfluxscale", small, "--out", os.path.join(mnt, "o"), "--no-weblog"],
                           capture_output=True, text=True)
        lines = r.stderr.strip().splitlines()
        res[size] = {"exit": r.returncode, "one_line": len(lines) <= 1, "names_fs": mnt in r.stderr}
        subprocess.run(["umount", mnt])
    return res


if __name__ == "__main__":
    from common import report
    ap = argparse.ArgumentParser()
    ap.add_argument("--tries", type=int, default=10)
    ap.add_argument("--signal", default="SIGINT")
    args = ap.parse_args()
    from fluxpipe.sim import simulate
    with tempfile.TemporaryDirectory() as d:
        base = os.path.join(d, "src", "m.ms")
        simulate(base, "alma_mixed", seed=1, duration_scale=6)
        small = os.path.join(d, "small", "s.ms")
        simulate(small, "small", seed=1)
        res = {"signal": args.signal, **signal_loop(base, d, args.tries, getattr(signal, args.signal)),
               "disk_full": disk_loop(small, d, ["200k", "400k", "600k", "800k", "1000k", "1500k"])}
    report("faults", res)
