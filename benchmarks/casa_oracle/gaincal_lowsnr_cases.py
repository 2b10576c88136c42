"""CASA oracle (not run by the tests; casatasks 6.7 in a venv of its own): more of gaincal at low
SNR than gaincal_lowsnr.py, on data that solver was not written against. In a folder holding

    fluxpipe simulate l1.ms --preset small_lowsnr --seed 1
    fluxpipe simulate l2.ms --preset small_lowsnr --seed 2
    fluxpipe simulate fa.ms --preset few_antennas --seed 1

run `/path/to/casa-venv/bin/python gaincal_lowsnr_cases.py OUT.npz`. Per case (CASES: the MS
and gaincal's arguments; refant '0', minblperant 4, refantmode flex) it stores per solution row
TIME, FIELD_ID, SPECTRAL_WINDOW_ID, ANTENNA1, SNR, FLAG and CPARAM for
tests/test_gaincal.py.
"""
import shutil
import sys

import numpy as np

CASES = {
    "seed2_G_int_p": ("l2.ms", dict(field="0,1,2", solint="int", calmode="p", gaintype="G", minsnr=3.0)),
    "T_int_p": ("l1.ms", dict(field="0,1,2", solint="int", calmode="p", gaintype="T", minsnr=3.0)),
    "G_30s_p": ("l1.ms", dict(field="0,1,2", solint="30s", calmode="p", gaintype="G", minsnr=3.0)),
    "G_inf_ap": ("l1.ms", dict(field="0,1,2", solint="inf", calmode="ap", gaintype="G", minsnr=3.0)),
    "carma_G_int_p": ("fa.ms", dict(field="0,3", solint="int", calmode="p", gaintype="G", minsnr=3.0)),
    "carma_T_20s_p": ("fa.ms", dict(field="0,3", solint="20s", calmode="p", gaintype="T", minsnr=2.0)),
}

if __name__ == "__main__":
    from casatasks import gaincal
    from casatools import table
    out = {}
    for name, (ms, kw) in CASES.items():
        shutil.rmtree(f"{name}.G", ignore_errors=True)
        gaincal(vis=ms, caltable=f"{name}.G", refant="0", minblperant=4, refantmode="flex", **kw)
        tb = table()
        tb.open(f"{name}.G")
        for c in ("TIME", "FIELD_ID", "SPECTRAL_WINDOW_ID", "ANTENNA1"):
            out[f"{name}/{c}"] = tb.getcol(c)
        out[f"{name}/SNR"] = tb.getcol("SNR")[:, 0, :].T.astype(np.float32)        # (row, pol)
        out[f"{name}/FLAG"] = tb.getcol("FLAG")[:, 0, :].T
        out[f"{name}/CPARAM"] = tb.getcol("CPARAM")[:, 0, :].T.astype(np.complex64)
        tb.close()
    np.savez_compressed(sys.argv[1], casa="casatasks 6.7.0.31", **out)
