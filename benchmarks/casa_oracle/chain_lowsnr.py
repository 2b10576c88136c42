"""CASA oracle (not run by the tests; casatasks 6.7 in a venv of its own): CASA's whole chain
on a low-SNR EB, to set beside fluxpipe's gfluxscale_casa recipe on the same MS:
setjy (manual, per spw: the flux.csv row's I and spix at the spw's centre) -> gaincal
(calmode 'p', solint 'int', gaintype G) -> gaincal (calmode 'a', solint 'inf', gaintype T, the
phase table applied) -> fluxscale, minsnr 2, minblperant 4, refant the pipeline's list.

    fluxpipe simulate l1.ms --preset small_lowsnr --seed 1     # writes flux.csv beside it
    /path/to/casa-venv/bin/python chain_lowsnr.py l1.ms REFERENCE TRANSFER[,..] REFANTS OUT.json

Stored: tests/data/casa_chain_lowsnr.json (l1.ms J0423-0120 J0530+1331,J0541+1527
DV01,DV03,DA48,DA46,DV04,DA42,DA44,DV02) and tests/data/casa_chain_faint1.json
(`--preset alma_band3_faint1 --seed 1` as f.ms, J0423-0120 J0510+1800,J0530+1331,J0541+1527,
refants as fluxpipe ranks them: DV03,DA52,DV01,DV05,DA46,DA48,DV06,DV11,DV13,DA56,DV04,DA42,DA54,
DV07,DA60,DV08,DA62,DA64,DV09,DA44,DV10,DV12,DA58,DA50,DV02). Run it on an MS without
MODEL_DATA (not one fluxpipe has written back to).

Writes {field: {spw: [flux, error]}} and the caltables' flagged fractions as JSON.
"""
import csv
import json
import shutil
import sys

import numpy as np
from casatasks import fluxscale, gaincal, setjy
from casatools import table

ms_in, ref, transfer, refants, out = sys.argv[1:6]
ms = "casa_chain.ms"
shutil.rmtree(ms, ignore_errors=True)
shutil.copytree(ms_in, ms)
for t in ("c.ph", "c.amp", "c.fs"):
    shutil.rmtree(t, ignore_errors=True)
tb = table()
tb.open(ms + "/SPECTRAL_WINDOW")
centres = [float(np.mean(tb.getcell("CHAN_FREQ", i))) for i in range(tb.nrows())]
tb.close()
rows = [r for r in csv.DictReader(open("flux.csv")) if r["field"] == ref and r["ms"] in ("", ms_in.rstrip("/").split("/")[-1])]
assert rows, f"no flux.csv row for {ref}"
for r in rows:
    s = int(r["spw"])
    setjy(vis=ms, field=ref, spw=str(s), standard="manual", fluxdensity=[float(r["I"]), 0, 0, 0],
          spix=[float(r["spix"])], reffreq=f"{centres[s]}Hz", usescratch=True)
fields = ",".join([ref] + transfer.split(","))
gaincal(vis=ms, caltable="c.ph", field=fields, solint="int", calmode="p", refant=refants, minsnr=2,
        minblperant=4, gaintype="G")
gaincal(vis=ms, caltable="c.amp", field=fields, solint="inf", calmode="a", refant=refants, minsnr=2,
        minblperant=4, gaintype="T", gaintable=["c.ph"])
d = fluxscale(vis=ms, caltable="c.amp", fluxtable="c.fs", reference=ref, transfer=transfer)
res = {"casa": "casatasks 6.7.0.31", "fluxes": {}}
for k, v in d.items():
    if isinstance(v, dict) and "fieldName" in v:
        res["fluxes"][v["fieldName"]] = {s: [float(v[s]["fluxd"][0]), float(v[s]["fluxdErr"][0])]
                                         for s in v if s.isdigit()}
for t in ("c.ph", "c.amp"):
    tb.open(t)
    res[f"flagged_{t}"] = float(tb.getcol("FLAG").mean())
    tb.close()
json.dump(res, open(out, "w"), indent=1)
print(json.dumps(res, indent=1))
