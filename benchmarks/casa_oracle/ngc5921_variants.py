"""CASA oracle (not run by the tests; casatasks 6.7 in a venv of its own, which also has
python-casacore): CASA's chain on variants of NGC5921 that real archives hold, each made from the
pristine MS with python-casacore by `make_variant` (the test makes them with the same function,
loaded by file path):

- `noauto`: the autocorrelation rows removed (an MS split with antenna='*&');
- `reversed`: the rows in descending time (an MS not in time order);
- `flagant`: antenna index 3 flagged throughout;
- `halfscan`: the reference's first half-scan (3C286, first half of its time range) flagged;
- `mstransform`: the calibrators split out by CASA's mstransform, regridded into two spws (32 and
  31 channels), then 4 channels averaged into one (8 and 7 channels) and 60 s time averaging,
  WEIGHT_SPECTRUM and SIGMA_SPECTRUM written (the kind of MS most users calibrate); made here with
  casatasks and stored as tests/data/ngc5921_mstransform.ms.tgz.

The chain: setjy (Perley-Butler 2017 on 3C286) -> gaincal (calmode 'p', solint 'int', G) ->
gaincal (calmode 'a', solint 'inf', T, the phase table applied) -> fluxscale; minsnr 2,
minblperant 4, refant the list fluxpipe's gfluxscale_casa ranks on the variant (REFANTS.json:
{variant: "2,24,14,4,..."}, antenna names; with `flagant` the flagged antenna 4 goes last). Run
in a folder holding the pristine ngc5921.ms:

    /path/to/casa-venv/bin/python ngc5921_variants.py ngc5921.ms REFANTS.json OUT.json

Stored: tests/data/casa_ngc5921_variants.json.
"""
from __future__ import annotations

import json
import shutil
import sys

import numpy as np

VARIANTS = ("noauto", "reversed", "flagant", "halfscan")


def make_variant(src: str, dst: str, kind: str) -> None:
    """Write variant `kind` of the MS `src` to `dst` (python-casacore)."""
    from casacore.tables import table
    shutil.rmtree(dst, ignore_errors=True)
    t = table(src, ack=False)
    if kind in ("noauto", "reversed"):
        sub = t.query("ANTENNA1 != ANTENNA2") if kind == "noauto" else t.query(sortlist="TIME DESC, ANTENNA1, ANTENNA2")
        sub.copy(dst, deep=True)
        sub.close()
        t.close()
        return
    t.close()
    shutil.copytree(src, dst)
    t = table(dst, readonly=False, ack=False)
    a1, a2, field, time = (t.getcol(c) for c in ("ANTENNA1", "ANTENNA2", "FIELD_ID", "TIME"))
    if kind == "flagant":
        m = (a1 == 3) | (a2 == 3)
    else:
        ref = time[field == 0]
        m = (field == 0) & (time < ref.min() + 0.5 * (ref.max() - ref.min()))
    flag = t.getcol("FLAG")
    flag[m] = True
    t.putcol("FLAG", flag)
    t.close()


def casa_chain(ms: str, refants: str) -> dict:
    from casatasks import fluxscale, gaincal, setjy
    for tab in ("v.ph", "v.amp", "v.fs"):
        shutil.rmtree(tab, ignore_errors=True)
    setjy(vis=ms, field="1331+30500002_0", standard="Perley-Butler 2017", usescratch=True)
    fields = "1331+30500002_0,1445+09900002_0"
    gaincal(vis=ms, caltable="v.ph", field=fields, solint="int", calmode="p", refant=refants, minsnr=2,
            minblperant=4, gaintype="G")
    gaincal(vis=ms, caltable="v.amp", field=fields, solint="inf", calmode="a", refant=refants, minsnr=2,
            minblperant=4, gaintype="T", gaintable=["v.ph"])
    d = fluxscale(vis=ms, caltable="v.amp", fluxtable="v.fs", reference="1331+30500002_0",
                  transfer="1445+09900002_0")
    return {s: {"fluxd": float(v["fluxd"][0]), "fluxdErr": float(v["fluxdErr"][0]), "numSol": int(v["numSol"][0])}
            for s, v in d["1"].items() if s.isdigit()}


if __name__ == "__main__":
    src, refants_json, out = sys.argv[1:4]
    refants = json.load(open(refants_json))
    res = {"casa": "casatasks 6.7.0.31", "refants": refants, "variants": {}}
    for kind in VARIANTS:
        make_variant(src, f"v_{kind}.ms", kind)
        res["variants"][kind] = casa_chain(f"v_{kind}.ms", refants[kind])
        print(kind, res["variants"][kind])
    import tarfile

    from casatasks import mstransform
    for d in ("regridded.ms", "ngc5921_mstransform.ms"):
        shutil.rmtree(d, ignore_errors=True)
    mstransform(vis=src, outputvis="regridded.ms", field="0,1", datacolumn="data", regridms=True, nspw=2)
    mstransform(vis="regridded.ms", outputvis="ngc5921_mstransform.ms", datacolumn="data", chanaverage=True,
                chanbin=4, timeaverage=True, timebin="60s")
    with tarfile.open("ngc5921_mstransform.ms.tgz", "w:gz") as tar:
        tar.add("ngc5921_mstransform.ms")
    shutil.rmtree("v_mstransform.ms", ignore_errors=True)
    shutil.copytree("ngc5921_mstransform.ms", "v_mstransform.ms")
    res["variants"]["mstransform"] = casa_chain("v_mstransform.ms", refants["mstransform"])
    print("mstransform", res["variants"]["mstransform"])
    json.dump(res, open(out, "w"), indent=1)
