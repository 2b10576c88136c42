"""What the weblog adds to the demo run: `fluxpipe run gfluxscale` on the demo EB (alma_band3,
seed 42, as `fluxpipe demo` makes it) with and without the weblog, median of --repeat runs of
the command (start-up included), each into a fresh output folder; then --resume over a finished
run with the weblog (its plots reused). Issue 24's goal: the weblog adds at most 1.5 s.
--big: a 43-antenna, 16-spw variant of the demo EB (8 channels per spw; 1.2 GB), where the
per-antenna small multiples (43 panels) and the 16-panel gain figures cost the most.

    python benchmarks/bench_weblog.py --repeat 5 [--big]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from common import report

FP = [sys.executable, "-m", "fluxpipe.cli", "-q", "run", "gfluxscale"]


def timed(args: list[str], out: str, fresh: bool = True) -> float:
    if fresh:
        shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    subprocess.run(FP + args + ["--out", out], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def png_count(out: str) -> int:
    d = os.path.join(out, "weblog", "stages")
    return sum(f.endswith(".png") for f in os.listdir(d)) if os.path.isdir(d) else 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--big", action="store_true")
    args = ap.parse_args()
    from fluxpipe.sim import simulate
    with tempfile.TemporaryDirectory() as d:
        ms = os.path.join(d, "demo_band3.ms")
        if args.big:        # a preset of its own, written by the simulator in this process
            import fluxpipe.sim.presets as P
            p = P.get_preset("alma_band3")
            p.name, p.nant, p.nchan, p.spw_bw_mhz = "big", 43, 8, 500.0
            p.spw_centres_ghz = [86.0 + k for k in range(16)]
            P.PRESETS["big"] = lambda: p
            simulate(ms, "big", seed=1)
        else:
            simulate(ms, "alma_band3", seed=42)
        t = {"weblog": [], "no_weblog": [], "resume_weblog": []}
        for _ in range(args.repeat):
            t["no_weblog"].append(timed([ms, "--no-weblog"], os.path.join(d, "n")))
            t["weblog"].append(timed([ms], os.path.join(d, "w")))
            os.remove(os.path.join(d, "w", "weblog", "index.html"))
            t["resume_weblog"].append(timed([ms, "--resume"], os.path.join(d, "w"), fresh=False))
        res = {k: round(float(np.median(v)), 2) for k, v in t.items()}
        res["weblog_adds_s"] = round(res["weblog"] - res["no_weblog"], 2)
        res["stage_figures"] = png_count(os.path.join(d, "w"))
        res["cores"] = os.cpu_count()
        res["ms"] = "43 antennas, 16 spws" if args.big else "demo"
        res["goal_adds_s"] = 1.5
    report("weblog", res)
