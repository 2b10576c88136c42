"""CASA 6.7's Butler-JPL-Horizons 2012 flux densities and disk sizes (the code setjy calls,
casatasks.private.solar_system_setjy.solar_system_fd) for several bodies, dates and channel
ranges; stored in tests/data/casa_bjh2012.json for tests/test_bjh2012.py. Run in a venv with
casatools/casatasks 6.7 and casadata:

    python benchmarks/casa_oracle/bjh2012_fd.py tests/data/casa_bjh2012.json
"""
import json
import sys

from casatasks import casalog
from casatasks.private.solar_system_setjy import solar_system_setjy

CASES = [("Uranus", 60634.0), ("Uranus", 59300.5), ("Neptune", 60690.2), ("Jupiter", 60100.3),
         ("Jupiter", 61500.7), ("Io", 60300.1), ("Europa", 60950.4), ("Ganymede", 60690.9),
         ("Callisto", 59800.0), ("Titan", 60450.6), ("Venus", 60200.2), ("Juno", 60400.0)]
BANDS_GHZ = [(90.5, 2.0, 16), (100.0, 0.125, 4), (233.0, 1.875, 8), (345.0, 2.0, 8)]


def fd_cases(cases, bands_ghz):
    """solar_system_fd for each (body, MJD) and each band's channels (centre, width, channels)."""
    ss = solar_system_setjy()
    res = []
    for body, mjd in cases:
        for centre, bw, nch in bands_ghz:
            w = bw / nch * 1e9
            lo = [centre * 1e9 - bw * 1e9 / 2 + k * w for k in range(nch)]
            freqs = [[a, a + w] for a in lo]
            st, fds, _, rhat, _ = ss.solar_system_fd(body, [mjd], freqs, "ALMA", casalog=casalog)
            res.append({"body": body, "mjd": mjd, "channels_hz": freqs, "status": st[0], "flux_jy": fds[0],
                        "major_arcsec": rhat[0][0], "minor_arcsec": rhat[0][1], "pa_deg": rhat[0][2]})
    return res


def main(out):
    res = fd_cases(CASES, BANDS_GHZ)
    with open(out, "w") as fh:
        json.dump({"made_by": "benchmarks/casa_oracle/bjh2012_fd.py", "casa": "casatasks 6.7.0.31, casadata 2025.9.22",
                   "cases": res}, fh, indent=0)


if __name__ == "__main__":
    main(sys.argv[1])
