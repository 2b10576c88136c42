"""The simulator's sky beyond point sources: disks by numerical Hankel transform (independent of
the pipeline's Bessel formula), solar-system bodies' distances from astropy's built-in ephemeris,
and ALMA-style FIELD/EPHEM*.tab subtables."""
from __future__ import annotations

import os

import numpy as np

from ..heuristics.constants import ARCSEC, AU_KM

DAY = 86400.0


def disk_profile(q: np.ndarray, theta_rad: float, limb: float) -> np.ndarray:
    """Normalised visibility of a disk I(r) ~ (1 - (r/R)^2)^limb by numerical Hankel transform,
    V(q) = int I(r) J0(2 pi q r) r dr / int I(r) r dr, with r = R sin(phi) (smooth integrand),
    evaluated on a fine grid of q and interpolated."""
    from scipy.special import j0
    x, wq = np.polynomial.legendre.leggauss(256)
    phi = (x + 1) * np.pi / 4
    wphi = wq * np.pi / 4
    r = np.sin(phi)
    kern = np.cos(phi) ** (2 * limb + 1) * r * wphi            # I(r) r dr with dr = cos(phi) dphi
    qg = np.linspace(0, float(np.max(q)) * 1.001 + 1, 20001)
    v = (j0(2 * np.pi * np.outer(qg, r) * theta_rad / 2) * kern).sum(axis=1) / kern.sum()
    return np.interp(q, qg, v)


def body_ephemeris(name: str, radius_km: float, t0: float, t1: float) -> dict:
    """Geocentric distance (astropy built-in ephemeris) over the observation, and the size."""
    from astropy.coordinates import get_body, solar_system_ephemeris
    from astropy.time import Time
    mjd = np.linspace(t0 / DAY - 0.5, t1 / DAY + 0.5, 9)
    with solar_system_ephemeris.set("builtin"):
        b = get_body(name.lower(), Time(mjd, format="mjd", scale="utc"))
    rho = b.distance.to("au").value
    d_mid = float(np.interp(0.5 * (t0 + t1) / DAY, mjd, rho))
    diam = float(2 * np.arcsin(radius_km / (d_mid * AU_KM)) / ARCSEC)
    return {"mjd": mjd.tolist(), "rho_au": rho.tolist(), "ra_deg": b.ra.deg.tolist(),
            "dec_deg": b.dec.deg.tolist(), "radius_km": radius_km, "distance_au": d_mid,
            "diameter_arcsec": diam}


def write_ephemeris_table(out: str, field_id: int, name: str, e: dict) -> None:
    """FIELD/EPHEM<k>_<name>_<mjd>.tab as ALMA attaches it (MJD, RA, DEC, Rho; meanrad) and
    FIELD.EPHEMERIS_ID pointing at it."""
    from casacore.tables import makescacoldesc, maketabdesc, table
    path = os.path.join(out, "FIELD", f"EPHEM0_{name}_{e['mjd'][0]:.1f}.tab")
    cols = [makescacoldesc(c, 0.0) for c in ("MJD", "RA", "DEC", "Rho", "RadVel")]
    t = table(path, maketabdesc(cols), nrow=len(e["mjd"]), ack=False)
    t.putcol("MJD", np.asarray(e["mjd"]))
    t.putcol("RA", np.asarray(e["ra_deg"]))
    t.putcol("DEC", np.asarray(e["dec_deg"]))
    t.putcol("Rho", np.asarray(e["rho_au"]))
    t.putcol("RadVel", np.zeros(len(e["mjd"])))
    t.putkeyword("meanrad", {"value": e["radius_km"], "unit": "km"})
    t.putkeyword("NAME", name)
    t.close()
    f = table(os.path.join(out, "FIELD"), ack=False, readonly=False)
    if "EPHEMERIS_ID" not in f.colnames():
        f.addcols(maketabdesc(makescacoldesc("EPHEMERIS_ID", -1)))
        f.putcol("EPHEMERIS_ID", np.full(f.nrows(), -1, np.int32))
    f.putcell("EPHEMERIS_ID", field_id, 0)
    f.close()
