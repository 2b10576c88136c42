"""CASA oracle (not run by the tests; needs casatasks in a venv of its own): wall-clock seconds of
CASA's setjy -> gaincal (phase) -> gaincal (amplitude) -> fluxscale -> setjy (fluxscale's
dictionary into MODEL_DATA) on an MS, to set beside `fluxpipe run gfluxscale` on a copy of it.

    /path/to/casa-venv/bin/python time_chain.py MS REFERENCE TRANSFER[,TRANSFER...] REFANT

The MS must have a flux model for REFERENCE that setjy knows (a Perley-Butler 2017 standard) or
the reference's flux as a manual value: pass FLUX=<Jy> in the environment for the latter.
Prints JSON: seconds per task and in total.
"""
import json
import os
import shutil
import sys
import time

from casatasks import fluxscale, gaincal, setjy

ms_in, ref, transfer, refant = sys.argv[1:5]
ms = "casa_chain.ms"
shutil.rmtree(ms, ignore_errors=True)
shutil.copytree(ms_in, ms)
for t in ("c.ph", "c.amp", "c.fs"):
    shutil.rmtree(t, ignore_errors=True)
fields = ",".join([ref] + transfer.split(","))
sec = {}
t0 = time.perf_counter()
if os.environ.get("FLUX"):
    setjy(vis=ms, field=ref, standard="manual", fluxdensity=[float(os.environ["FLUX"]), 0, 0, 0],
          usescratch=True)
else:
    setjy(vis=ms, field=ref, standard="Perley-Butler 2017", usescratch=True)
sec["setjy_reference"] = time.perf_counter() - t0
t = time.perf_counter()
gaincal(vis=ms, caltable="c.ph", field=fields, solint="int", calmode="p", refant=refant, minsnr=2,
        minblperant=4, gaintype="G")
sec["gaincal_phase"] = time.perf_counter() - t
t = time.perf_counter()
gaincal(vis=ms, caltable="c.amp", field=fields, solint="inf", calmode="a", refant=refant, minsnr=2,
        minblperant=4, gaintype="T", gaintable=["c.ph"])
sec["gaincal_amp"] = time.perf_counter() - t
t = time.perf_counter()
d = fluxscale(vis=ms, caltable="c.amp", fluxtable="c.fs", reference=ref, transfer=transfer)
sec["fluxscale"] = time.perf_counter() - t
t = time.perf_counter()
setjy(vis=ms, standard="fluxscale", fluxdict=d, usescratch=True)
sec["setjy_transfer"] = time.perf_counter() - t
sec["total"] = time.perf_counter() - t0
print(json.dumps(sec, indent=1))
