"""CASA oracle (not run by the tests; casatasks 6.7 and casadata in a venv of their own): CASA's
setjy with the Butler-JPL-Horizons 2012 standard on a simulated planet EB, its MODEL_DATA stored
for tests/test_bjh2012.py, which compares fluxpipe's write-back (solar_system_geometry=casa) with
it. Run in a folder holding `fluxpipe simulate p.ms --preset alma_band6_bjh --seed 3`:

    /path/to/casa-venv/bin/python setjy_planet_model.py OUT.npz

Stored: for every 97th row of the reference field (TIME, ANTENNA1, ANTENNA2, DATA_DESC_ID, UVW),
MODEL_DATA's XX per channel, and what setjy logged (its flux per spw and the disk it used).
"""
import shutil
import sys

import numpy as np
from casatasks import casalog, setjy
from casatools import table

shutil.rmtree("casa_p.ms", ignore_errors=True)
shutil.copytree("p.ms", "casa_p.ms")
ret = setjy(vis="casa_p.ms", field="Uranus", standard="Butler-JPL-Horizons 2012", usescratch=True)
tb = table()
tb.open("casa_p.ms/FIELD")
fid = list(tb.getcol("NAME")).index("Uranus")
tb.close()
tb.open("casa_p.ms")
q = tb.query(f"FIELD_ID=={fid}")
n = q.nrows()
rows = np.arange(0, n, 97)
cols = {c: q.getcol(c) for c in ("TIME", "ANTENNA1", "ANTENNA2", "DATA_DESC_ID", "UVW")}
model = [q.getcell("MODEL_DATA", int(r))[0] for r in rows]          # XX per channel
q.close()
tb.close()
spw_flux = {k: v["fluxd"][0] for k, v in ret[str(fid)].items() if k.isdigit()} if str(fid) in ret else {}
np.savez_compressed(sys.argv[1], time=cols["TIME"][rows], antenna1=cols["ANTENNA1"][rows],
                    antenna2=cols["ANTENNA2"][rows], ddid=cols["DATA_DESC_ID"][rows], uvw=cols["UVW"][:, rows].T,
                    model=np.array(model).astype(np.complex64), spw=np.array(sorted(spw_flux), int),
                    spw_flux_jy=np.array([spw_flux[k] for k in sorted(spw_flux)]), casa="casatasks 6.7.0.31, casadata 2025.9.22")
print(n, "rows;", len(rows), "stored; setjy:", spw_flux)
casalog.post("done")
