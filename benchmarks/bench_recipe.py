"""The gfluxscale recipe without the weblog on the band-3 preset (and --scale 4 for 4x longer).

Reference: CASA 6.7's task chain (setjy + two gaincal + fluxscale + setjy) ~11 s on 2 cores.
The MS is copied first (writeback modifies MODEL_DATA), outside the measured time.
"""
import argparse
import os
import shutil
import tempfile

from common import measure, report, simulated


def work(ms: str, out: str) -> dict:
    from fluxpipe import run_recipe
    ctx = run_recipe("gfluxscale", [ms], out, weblog=False)
    return {r.stage: round(r.seconds, 3) for r in ctx.results}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=int, default=1)
    args = ap.parse_args()
    src = simulated("alma_band3", args.scale)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(src)) as d:
        ms = os.path.join(d, os.path.basename(src))
        shutil.copytree(src, ms)
        shutil.copy(os.path.join(os.path.dirname(src), "flux.csv"), os.path.join(d, "flux.csv"))
        report(f"gfluxscale recipe alma_band3 x{args.scale}", measure(work, ms, os.path.join(d, "out")))
