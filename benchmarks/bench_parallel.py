"""--parallel N against a serial run over N EBs (alma_band3, --scale times longer), with and
without the weblog; median of --repeat runs of the `fluxpipe run` command (start-up included).
Issue 23's goal: N MSes on N cores at least 0.85 N times faster than serial.

    python benchmarks/bench_parallel.py --n 2 --scale 4 --repeat 3
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


def timed(args: list[str], out: str) -> float:
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    subprocess.run(FP + args + ["--out", out], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2)
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from fluxpipe.sim import simulate
    with tempfile.TemporaryDirectory() as d:
        mses = [os.path.join(d, f"e{i}", f"e{i}.ms") for i in range(args.n)]
        for i, ms in enumerate(mses):
            simulate(ms, "alma_band3", seed=i + 1, duration_scale=args.scale)
        res = {"ebs": args.n, "scale": args.scale, "cores": os.cpu_count()}
        for web in ([], ["--no-weblog"]):
            key = "no_weblog" if web else "weblog"
            t = {m: [] for m in ("serial", "parallel")}
            for _ in range(args.repeat):
                t["serial"].append(timed(mses + web, os.path.join(d, "s")))
                t["parallel"].append(timed(mses + web + ["--parallel", str(args.n)], os.path.join(d, "p")))
            s, p = float(np.median(t["serial"])), float(np.median(t["parallel"]))
            res[key] = {"serial_s": round(s, 2), "parallel_s": round(p, 2), "speedup": round(s / p, 2),
                        "goal": round(0.85 * args.n, 2)}
    report("parallel", res)
