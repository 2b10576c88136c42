"""Make pipeline/models/solar_system.npz (+ solar_system_provenance.json) from the CASA data
package (casadata): the Butler-JPL-Horizons 2012 brightness-temperature tables
(alma/SolarSystemModels/<Body>_Tb.dat: GHz, K) of the bodies whose model does not vary in time,
and their JPL-Horizons ephemerides (ephemerides/JPL-Horizons/<Body>_*dUTC_J2000.tab, geocentric,
one row per day 2010-2030): Rho (AU), RadVel (AU/day), NP_ang and DiskLat (deg), and the radii
keyword (km). Mars and the asteroids Ceres, Pallas and Vesta: their ephemerides and the asteroids'
static Tb tables (CASA's model before their time tables begin); their time tables (20-75 MB) are
not shipped: fluxpipe reads them from casadata when it is installed. Run once with
python-casacore and casadata installed:

    python benchmarks/casa_oracle/extract_solar_system.py /path/to/casadata/__data__ VERSION
"""
import glob
import json
import os
import sys

import numpy as np
from casacore.tables import table

SHIPPED = ("Venus", "Jupiter", "Uranus", "Neptune", "Io", "Europa", "Ganymede", "Callisto", "Titan", "Juno",
           "Mars", "Ceres", "Pallas", "Vesta")
NO_STATIC_TABLE = ("Mars",)        # its model is the time table only
COLUMNS = ("Rho", "RadVel", "NP_ang", "DiskLat")


def ephemeris(data, body):
    files = sorted(glob.glob(os.path.join(data, "ephemerides", "JPL-Horizons", f"{body}_*dUTC_J2000.tab")),
                   key=lambda f: float(os.path.basename(f).split("_")[1].split("-")[0]))
    mjd, cols, radii, made = [], {c: [] for c in COLUMNS}, None, []
    for f in files:
        t = table(f, ack=False)
        m = t.getcol("MJD")
        keep = m > (mjd[-1][-1] if mjd else -np.inf)          # files overlap by a day
        mjd.append(m[keep])
        for c in COLUMNS:
            cols[c].append(t.getcol(c)[keep])
        radii = [float(x) for x in t.getkeyword("radii")["value"]]
        made.append({"file": os.path.basename(f), "VS_CREATE": t.getkeyword("VS_CREATE"),
                     "earliest": t.getkeyword("earliest")["m0"]["value"],
                     "latest": t.getkeyword("latest")["m0"]["value"]})
        t.close()
    mjd = np.concatenate(mjd)
    assert np.allclose(np.diff(mjd), 1.0), body
    return mjd, {c: np.concatenate(v) for c, v in cols.items()}, radii, made


def main(data, version):
    arrays, prov = {}, {"made_by": "benchmarks/casa_oracle/extract_solar_system.py",
                        "casadata": version, "bodies": {}}
    for body in SHIPPED:
        tb = np.zeros((0, 2)) if body in NO_STATIC_TABLE else \
            np.loadtxt(os.path.join(data, "alma", "SolarSystemModels", f"{body}_Tb.dat"))
        arrays[f"{body}/tb_ghz"] = tb[:, 0]
        arrays[f"{body}/tb_k"] = tb[:, 1]
        mjd, cols, radii, made = ephemeris(data, body)
        arrays[f"{body}/mjd0"] = np.array([mjd[0]])
        arrays[f"{body}/radii_km"] = np.array(radii)
        arrays[f"{body}/Rho"] = cols["Rho"]                              # AU, float64
        arrays[f"{body}/RadVel"] = cols["RadVel"]                        # AU/day
        arrays[f"{body}/NP_ang"] = cols["NP_ang"]                        # deg
        arrays[f"{body}/DiskLat"] = cols["DiskLat"]                      # deg
        prov["bodies"][body] = {"tb_table": None if body in NO_STATIC_TABLE else f"alma/SolarSystemModels/{body}_Tb.dat",
                                "tb_rows": len(tb), "ephemerides": made,
                                "mjd_range": [float(mjd[0]), float(mjd[-1])]}
    here = os.path.join(os.path.dirname(__file__), "..", "..", "pipeline", "models")
    np.savez_compressed(os.path.join(here, "solar_system.npz"), **arrays)
    with open(os.path.join(here, "solar_system_provenance.json"), "w") as fh:
        json.dump(prov, fh, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
