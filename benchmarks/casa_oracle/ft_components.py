"""CASA oracle (not run by the tests; casatasks in a venv of its own): fluxpipe.heuristics.predict against
CASA's ft on a simulated MS (`fluxpipe simulate s.ms --preset small --seed 1`), run in its folder:

    /path/to/casa-venv/bin/python ft_components.py /path/to/fluxpipe

A 1 Jy point 2" east and 1" north of the phase centre plus a 0.5 Jy 0.8" x 0.4" Gaussian at PA 30
deg. CASA 6.7.0.31: max |CASA - ours| = 1.8e-7 of 1.5 Jy; with the opposite sign of the exponent
the difference is 2.0 (so the sign is pinned down). Saves CASA's MODEL_DATA, the UVW and the
frequencies to casa_ft_components.npz (tests/data/, checked in CI without CASA).
"""
import sys, numpy as np
sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else ".")
from fluxpipe.heuristics.predict import Components, predict
from casatools import componentlist, table, measures, quanta
from casatasks import ft, delmod
cl = componentlist(); tb = table(); me = measures(); qa = quanta()
tb.open("s.ms/FIELD"); ph = tb.getcol("PHASE_DIR")[:, 0, 0]; names = tb.getcol("NAME"); tb.close()
ra0, dec0 = ph
dra, ddec = 2.0 / 206265, 1.0 / 206265            # offset on the sky (east, north), radians
ra1, dec1 = ra0 + dra / np.cos(dec0), dec0 + ddec
import os, shutil
shutil.rmtree("c.cl", ignore_errors=True)
cl.addcomponent(dir=f"J2000 {ra1}rad {dec1}rad", flux=1.0, fluxunit="Jy", freq="100GHz", shape="point", spectrumtype="constant")
cl.addcomponent(dir=f"J2000 {ra0}rad {dec0}rad", flux=0.5, fluxunit="Jy", freq="100GHz", shape="Gaussian",
                majoraxis="0.8arcsec", minoraxis="0.4arcsec", positionangle="30deg", spectrumtype="constant")
cl.rename("c.cl"); cl.close()
ft(vis="s.ms", field=names[0], complist="c.cl", usescratch=True)
tb.open("s.ms"); q = tb.query("FIELD_ID==0"); uvw = q.getcol("UVW").T; md = q.getcol("MODEL_DATA"); dd = q.getcol("DATA_DESC_ID"); q.close(); tb.close()
tb.open("s.ms/SPECTRAL_WINDOW"); cf = tb.getcell("CHAN_FREQ", 0); tb.close()
rows = dd == 0
M = md[0, :, rows]          # (rows, chan) XX
# our l, m of the offset component: exact direction cosines
l = np.cos(dec1) * np.sin(ra1 - ra0); m = np.sin(dec1) * np.cos(dec0) - np.cos(dec1) * np.sin(dec0) * np.cos(ra1 - ra0)
comp = Components(np.array([1.0, 0.5]), np.array([l, 0.0]), np.array([m, 0.0]),
                  np.array([0.0, 0.8 / 206265]), np.array([0.0, 0.4 / 206265]), np.array([0.0, np.radians(30)]))
P = predict(comp, uvw[rows], cf) * 1.5
np.savez_compressed("casa_ft_components.npz", uvw=uvw[rows], freq=cf, model=M.astype(np.complex64),
                    l=l, m=m)
print("max |CASA - ours|", np.abs(M - P).max(), "max|M|", np.abs(M).max())


