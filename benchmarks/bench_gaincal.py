"""Phase-up + amplitude solve over all calibrators of the band-3 preset (see README)."""
import argparse
import os
import tempfile

from common import measure, report, simulated

CALS = "AMPLITUDE,BANDPASS,PHASE,CHECK"


def work(ms: str, solver: str = "converged") -> dict:
    from fluxpipe.gaincal import gaincal
    from fluxpipe.ms import read_metadata
    ms = read_metadata(ms)   # as the pipeline does: metadata read once per MS
    with tempfile.TemporaryDirectory() as d:
        ph = gaincal(ms, os.path.join(d, "ph.G"), intent=CALS, solint="int", calmode="p",
                     minblperant=4, minsnr=2, solver=solver)
        amp = gaincal(ms, os.path.join(d, "amp.T"), intent=CALS, solint="inf", gaintype="T",
                      calmode="a", minsnr=2, gaintable=[os.path.join(d, "ph.G")],
                      refant_order=ph.refants, solver=solver)   # ranking computed once, as the pipeline does
    return {"phase_solutions": ph.nsolutions, "amp_solutions": amp.nsolutions}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--solver", default="converged", choices=["converged", "casa"])
    args = ap.parse_args()
    ms = simulated("alma_band3", args.scale)
    from fluxpipe.ms import read_metadata
    md = read_metadata(ms)
    res = measure(work, ms, args.solver)
    res["ms_rows"] = md.nrows
    report(f"gaincal alma_band3 x{args.scale} solver={args.solver}", res)
