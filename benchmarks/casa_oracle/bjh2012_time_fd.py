"""CASA 6.7's Butler-JPL-Horizons 2012 flux densities and disk sizes for the bodies whose model is
a table in time (Mars: Tb; Ceres, Pallas, Vesta: flux density) and for an asteroid before its
time table begins (CASA then takes its static Tb table); stored in
tests/data/casa_bjh2012_time.json for tests/test_bjh2012.py. It also writes the few rows of each
time table about each case's time (tests/data/casadata_excerpt/alma/SolarSystemModels/), which
the test gives fluxpipe as FLUXPIPE_CASADATA (the tables themselves are 20-75 MB). Run in a venv
with casatools/casatasks 6.7 and casadata:

    python benchmarks/casa_oracle/bjh2012_time_fd.py tests/data
"""
import json
import os
import sys

import casadata
from bjh2012_fd import BANDS_GHZ, fd_cases

CASES = [("Mars", 58326.2), ("Mars", 59274.6), ("Mars", 60462.1), ("Ceres", 60000.3), ("Ceres", 56400.0),
         ("Pallas", 59500.4), ("Vesta", 60300.7)]
TABLES = {"Mars": "Mars_Tb_time.dat", "Ceres": "Ceres_fd_time.dat", "Pallas": "Pallas_fd_time.dat",
          "Vesta": "Vesta_fd_time.dat"}


def excerpt(out_dir):
    """Header and the rows within half a day of each case (ordered, as the file)."""
    src = os.path.join(casadata.datapath, "alma", "SolarSystemModels")
    dst = os.path.join(out_dir, "casadata_excerpt", "alma", "SolarSystemModels")
    os.makedirs(dst, exist_ok=True)
    for body, name in TABLES.items():
        times = [m for b, m in CASES if b == body]
        with open(os.path.join(src, name)) as fh, open(os.path.join(dst, name), "w") as out:
            out.write(fh.readline())
            for line in fh:
                f = line.split()
                if len(f) > 5 and any(abs(float(f[5]) - t) < 0.5 for t in times):
                    out.write(line)


def main(out_dir):
    res = fd_cases(CASES, BANDS_GHZ)
    with open(os.path.join(out_dir, "casa_bjh2012_time.json"), "w") as fh:
        json.dump({"made_by": "benchmarks/casa_oracle/bjh2012_time_fd.py",
                   "casa": "casatasks 6.7.0.31, casadata 2025.9.22", "cases": res}, fh, indent=0)
    excerpt(out_dir)


if __name__ == "__main__":
    main(sys.argv[1])
