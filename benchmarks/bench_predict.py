"""Speed of the component predictor (fluxpipe.heuristics.predict) and what it costs inside the one pass.

    python benchmarks/bench_predict.py

1. Throughput: components x rows x channels per second for 1..1000 point components (and 100
   Gaussians) on 20 000 rows x 64 evenly spaced channels.
2. In the pass: the cube of the alma_band3 preset built with the reference as a point and as a
   k-component list, against the plain read of the same rows (ReadStats); the largest k whose
   pass stays under 2x the read time.
"""
import os
import sys
import time

import numpy as np
from common import HERE, report, simulated

sys.path.insert(0, os.path.dirname(HERE))


def throughput() -> dict:
    from fluxpipe.heuristics.predict import Components, predict
    rng = np.random.default_rng(1)
    rows, nchan = 20_000, 64
    uvw = rng.normal(0, 2000, (rows, 3))
    f = 100e9 + 15.625e6 * np.arange(nchan)
    out = {}
    for k, gauss in ((1, False), (10, False), (100, False), (1000, False), (100, True)):
        a = np.pi / 180 / 3600
        c = Components(rng.uniform(0.1, 1, k), rng.normal(0, 2 * a, k), rng.normal(0, 2 * a, k),
                       np.full(k, a) if gauss else None, np.full(k, 0.5 * a) if gauss else None,
                       rng.uniform(0, np.pi, k) if gauss else None)
        t = time.perf_counter()
        predict(c, uvw, f)
        s = time.perf_counter() - t
        out[f"{k}{' gaussian' if gauss else ''}"] = {"seconds": s, "per_second": k * rows * nchan / s}
    return out


def in_pass(ms: str) -> dict:
    from fluxpipe.ms import iter_chunks, read_metadata, select
    from fluxpipe.ms.onepass import build_cube
    from fluxpipe.skymodel import SourceModel, Structure, model_function
    md = read_metadata(ms)
    ref = md.fields[0].name
    sel = select(md, intent="AMPLITUDE,BANDPASS,PHASE,CHECK")
    t = time.perf_counter()
    rows = sum(ch.nrows if hasattr(ch, "nrows") else len(ch.time) for ch in iter_chunks(md, sel))
    read = time.perf_counter() - t
    res = {"read_s": read, "rows": rows}
    rng = np.random.default_rng(2)
    a = np.pi / 180 / 3600
    for k in (0, 1, 10, 100, 300, 1000):
        st = None if k == 0 else Structure(source="bench", kind="components", weight=rng.uniform(0.1, 1, k).tolist(),
                                           l=rng.normal(0, a, k).tolist(), m=rng.normal(0, a, k).tolist())
        model = {ref: SourceModel(field=ref, flux=3.3, reffreq=100e9, origin="manual", structure=st)}
        t = time.perf_counter()
        build_cube(md, sel, model=model_function(md, model))
        res[f"pass_{k}_components_s"] = time.perf_counter() - t
    ok = [k for k in (1, 10, 100, 300, 1000) if res[f"pass_{k}_components_s"] <= 2 * read]
    res["max_components_under_2x_read"] = max(ok) if ok else 0
    return res


if __name__ == "__main__":
    report("predict throughput", throughput())
    report("predict in the pass (alma_band3)", in_pass(simulated("alma_band3")))
