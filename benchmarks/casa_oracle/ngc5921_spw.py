"""CASA oracle (not run by the tests; needs casatasks/casatools/casadata from PyPI in a venv of
its own): NGC5921's 1445+099 flux with fluxpipe's default solve parameters, all channels and
spw='0:5~58'. Run in a folder holding ngc5921.ms (tests/data/ngc5921.ms.tgz):

    /path/to/casa-venv/bin/python ngc5921_spw.py

CASA 6.7.0.31 gave (tests/test_real_observations.py holds these numbers):
    all:    fluxd 2.5265708300171164, fluxdErr 0.0023378330792892987, numSol 27
    0:5~58: fluxd 2.5273169919067158, fluxdErr 0.0023442922914417093, numSol 27
"""
import json, shutil, os
from casatasks import setjy, gaincal, fluxscale
out = {}
for label, spw in (("all", ""), ("ch5_58", "0:5~58")):
    ms = f"n_{label}.ms"
    shutil.rmtree(ms, ignore_errors=True)
    shutil.copytree("ngc5921.ms", ms)
    setjy(vis=ms, field="1331+30500002_0", standard="Perley-Butler 2017", usescratch=True)
    for t in (f"{label}.ph", f"{label}.amp"):
        shutil.rmtree(t, ignore_errors=True)
    gaincal(vis=ms, caltable=f"{label}.ph", field="1331+30500002_0,1445+09900002_0", spw=spw,
            solint="int", calmode="p", refant="15", minsnr=2, minblperant=4, gaintype="G")
    gaincal(vis=ms, caltable=f"{label}.amp", field="1331+30500002_0,1445+09900002_0", spw=spw,
            solint="inf", calmode="a", refant="15", minsnr=2, minblperant=4, gaintype="T",
            gaintable=[f"{label}.ph"])
    d = fluxscale(vis=ms, caltable=f"{label}.amp", fluxtable=f"{label}.fs",
                  reference="1331+30500002_0", transfer="1445+09900002_0")
    out[label] = {"fluxd": float(d["1"]["0"]["fluxd"][0]), "fluxdErr": float(d["1"]["0"]["fluxdErr"][0]),
                  "numSol": float(d["1"]["0"]["numSol"][0])}
json.dump(out, open("casa_ngc5921_spw.json", "w"), indent=1)
print(out)
