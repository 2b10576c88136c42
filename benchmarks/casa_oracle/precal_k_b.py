"""CASA oracle for pre-applied K and B tables (not run by the tests; needs casatasks from PyPI in
a venv of its own). In a folder with bp.ms (fluxpipe simulate bp.ms --preset alma_band3_bp
--seed 21) and true.K / true.B (fluxpipe.sim.cal.write_true_tables):

    /path/to/casa-venv/bin/python precal_k_b.py REFANT

1. 'ours':  CASA's gaincal chain (phase 'int', amplitude 'inf' T) and fluxscale with fluxpipe's
            K and B tables pre-applied -> ours.ph, ours.amp, ours.json
2. 'casa':  CASA's own delays (gaincal K) and bandpass (bandpass, K pre-applied) on the bandpass
            calibrator -> casa.K, casa.B, then the same chain -> casa.ph, casa.amp, casa.json
The reference model is setjy 'manual' 3.2 Jy at 97.5 GHz, spix -0.6 (the simulation's truth).
tests/data/casa_precal.tgz holds these tables.
"""
import json
import shutil
import sys

from casatasks import bandpass, fluxscale, gaincal, setjy
from casatools import table

refant = sys.argv[1]
cals = "J0423-0120,J0510+1800,J0530+1331,J0541+1527"


def chain(ms, label, pre):
    for t in (f"{label}.ph", f"{label}.amp", f"{label}.fs"):
        shutil.rmtree(t, ignore_errors=True)
    gaincal(vis=ms, caltable=f"{label}.ph", field=cals, solint="int", calmode="p", refant=refant,
            minsnr=2, minblperant=4, gaintype="G", gaintable=pre)
    gaincal(vis=ms, caltable=f"{label}.amp", field=cals, solint="inf", calmode="a", refant=refant,
            minsnr=2, minblperant=4, gaintype="T", gaintable=pre + [f"{label}.ph"],
            gainfield=[""] * len(pre) + ["nearest"])
    d = fluxscale(vis=ms, caltable=f"{label}.amp", fluxtable=f"{label}.fs", reference="J0423-0120",
                  transfer="J0510+1800,J0530+1331,J0541+1527")
    out = {d[k]["fieldName"]: {s: d[k][s]["fluxd"][0] for s in ("0", "1", "2", "3")}
           for k in d if k.isdigit()}
    json.dump(out, open(f"{label}.json", "w"), indent=1)
    return out


ms = "casa_bp.ms"
shutil.rmtree(ms, ignore_errors=True)
shutil.copytree("bp.ms", ms)
tb = table()                        # no MODEL_DATA: setjy creates it (1 outside the reference)
tb.open(ms, nomodify=False)
if "MODEL_DATA" in tb.colnames():
    tb.removecols("MODEL_DATA")
tb.close()
setjy(vis=ms, field="J0423-0120", standard="manual", fluxdensity=[3.2, 0, 0, 0], spix=[-0.6],
      reffreq="97.5GHz", usescratch=True)
print("ours", chain(ms, "ours", ["true.K", "true.B"]))
for t in ("casa.K", "casa.B"):
    shutil.rmtree(t, ignore_errors=True)
gaincal(vis=ms, caltable="casa.K", field="J0510+1800", solint="inf", combine="scan", gaintype="K",
        refant=refant, minsnr=2)
bandpass(vis=ms, caltable="casa.B", field="J0510+1800", solint="inf", combine="scan", refant=refant,
         gaintable=["casa.K"], minsnr=2)
print("casa", chain(ms, "casa", ["casa.K", "casa.B"]))
