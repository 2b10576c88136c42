"""CASA oracle (not run by the tests; casatasks 6.7 in a venv of its own): gaincal's phase-up at
low SNR on `fluxpipe simulate l.ms --preset small_lowsnr --seed 1` (8 antennas, 4 spws; a 3.2 Jy,
a 0.03 Jy and a 0.01 Jy calibrator), solint 'int', calmode 'p', refant '0', minsnr 3, gaintype G,
refantmode flex (CASA's default) and strict. Stores per solution row TIME, FIELD_ID, SPW,
ANTENNA1/2, SNR, FLAG and the phase in tests/data/casa_gaincal_lowsnr.npz for
tests/test_gaincal.py. Run in the MS's folder:

    /path/to/casa-venv/bin/python gaincal_lowsnr.py OUT.npz
"""
import shutil
import sys

import numpy as np
from casatasks import gaincal
from casatools import table

out = {}
for mode in ("flex", "strict"):
    shutil.rmtree(f"casa_{mode}.G", ignore_errors=True)
    gaincal(vis="l.ms", caltable=f"casa_{mode}.G", field="0,1,2", solint="int", calmode="p", refant="0",
            minsnr=3.0, minblperant=4, gaintype="G", refantmode=mode)
    tb = table()
    tb.open(f"casa_{mode}.G")
    for c in ("TIME", "FIELD_ID", "SPECTRAL_WINDOW_ID", "ANTENNA1", "ANTENNA2"):
        out[f"{mode}/{c}"] = tb.getcol(c)
    out[f"{mode}/SNR"] = tb.getcol("SNR")[:, 0, :].T.astype(np.float32)        # (row, pol)
    out[f"{mode}/FLAG"] = tb.getcol("FLAG")[:, 0, :].T
    out[f"{mode}/PHASE"] = np.angle(tb.getcol("CPARAM")[:, 0, :].T).astype(np.float32)
    tb.close()
np.savez_compressed(sys.argv[1], casa="casatasks 6.7.0.31", **out)
