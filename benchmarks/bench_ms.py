"""Metadata time and DATA+FLAG+WEIGHT read throughput (page cache warm) of the band-3 preset."""
import argparse
import time

from common import measure, report, simulated


def read_all(ms: str) -> dict:
    from fluxpipe.ms import iter_chunks, read_metadata
    t = time.perf_counter()
    md = read_metadata(ms)
    t_meta = time.perf_counter() - t
    for _ in iter_chunks(md):   # warm the page cache
        pass
    t = time.perf_counter()
    nbytes = sum(c.nbytes for c in iter_chunks(md))
    dt = time.perf_counter() - t
    return {"metadata_s": t_meta, "read_MB": nbytes / 1e6, "read_MB_per_s": nbytes / 1e6 / dt}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=int, default=1)
    args = ap.parse_args()
    report(f"ms read alma_band3 x{args.scale}", measure(read_all, simulated("alma_band3", args.scale)))
