"""Shared helpers: cached simulated inputs and measuring a function in a fresh process."""
import json
import multiprocessing as mp
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
RESULTS = os.path.join(HERE, "results")


def simulated(preset: str = "alma_band3", scale: int = 1, seed: int = 1) -> str:
    from fluxpipe.sim import simulate
    os.makedirs(RESULTS, exist_ok=True)
    ms = os.path.join(RESULTS, f"{preset}_x{scale}.ms")
    if not os.path.exists(os.path.join(ms, "table.dat")):
        simulate(ms, preset, seed, duration_scale=scale)
    return ms


def ms_rows(ms: str) -> int:
    from casacore.tables import table
    t = table(ms, ack=False)
    n = t.nrows()
    t.close()
    return n


def peak_rss_mb() -> float:
    """This process's own peak resident set (VmHWM). Not ru_maxrss: after fork + exec that
    also holds the parent's peak (a benchmark that simulated its MS in-process)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(q, fn, args):
    t = time.perf_counter()
    extra = fn(*args)
    q.put({"seconds": time.perf_counter() - t, "peak_rss_mb": peak_rss_mb(), "extra": extra})


def measure(fn, *args) -> dict:
    """Run fn(*args) in a fresh process; return its wall time and peak RSS."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(q, fn, args))
    p.start()
    out = q.get()
    p.join()
    return out


def report(name: str, res: dict) -> None:
    print(json.dumps({"benchmark": name, **res}))
