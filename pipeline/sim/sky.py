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
    """Geocentric distance and its rate over the observation (the shipped JPL-Horizons table where
    it has the body, else astropy's built-in ephemeris), and the size."""
    from astropy.coordinates import get_body, solar_system_ephemeris
    from astropy.time import Time
    mjd = np.linspace(t0 / DAY - 0.5, t1 / DAY + 0.5, 9)
    with solar_system_ephemeris.set("builtin"):
        b = get_body(name.lower(), Time(mjd, format="mjd", scale="utc"))
    rho = b.distance.to("au").value
    radvel = np.gradient(rho, mjd)                                  # AU/d
    path = os.path.join(os.path.dirname(__file__), "..", "models", "solar_system.npz")
    with np.load(path) as z:       # JPL-Horizons' distances where the shipped tables have them
        if f"{name}/Rho" in z.files:
            days = z[f"{name}/mjd0"][0] + np.arange(len(z[f"{name}/Rho"]))
            rho, radvel = np.interp(mjd, days, z[f"{name}/Rho"]), np.interp(mjd, days, z[f"{name}/RadVel"])
    d_mid = float(np.interp(0.5 * (t0 + t1) / DAY, mjd, rho))
    diam = float(2 * np.arcsin(radius_km / (d_mid * AU_KM)) / ARCSEC)
    return {"mjd": mjd.tolist(), "rho_au": rho.tolist(), "radvel_au_d": radvel.tolist(), "ra_deg": b.ra.deg.tolist(),
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
    t.putcol("RadVel", np.asarray(e["radvel_au_d"]))
    for c, unit in (("MJD", "d"), ("RA", "deg"), ("DEC", "deg"), ("Rho", "AU"), ("RadVel", "AU/d")):
        t.putcolkeyword(c, "QuantumUnits", [unit])
    t.putkeyword("meanrad", {"value": e["radius_km"], "unit": "km"})
    t.putkeyword("NAME", name)
    t.close()
    f = table(os.path.join(out, "FIELD"), ack=False, readonly=False)
    if "EPHEMERIS_ID" not in f.colnames():
        f.addcols(maketabdesc(makescacoldesc("EPHEMERIS_ID", -1)))
        f.putcol("EPHEMERIS_ID", np.full(f.nrows(), -1, np.int32))
    f.putcell("EPHEMERIS_ID", field_id, 0)
    f.close()


def bjh_truth(name: str, mjd: float, chan_freqs: list[np.ndarray]) -> dict:
    """A body's Butler-JPL-Horizons 2012 sky written independently of the pipeline's
    (heuristics.bjh2012): the shipped tables read here, linear interpolation in time and in Tb at
    each channel centre (Doppler-shifted by the radial velocity), Rayleigh-Jeans-exact Planck less
    the CMB, the correct apparent polar radius and the major axis perpendicular to the pole."""
    h, k, c = 6.62607015e-34, 1.380649e-23, 299792458.0
    path = os.path.join(os.path.dirname(__file__), "..", "models", "solar_system.npz")
    with np.load(path) as z:
        t = {key.split("/")[1]: z[key] for key in z.files if key.startswith(name + "/")}
    days = t["mjd0"][0] + np.arange(len(t["Rho"]))
    at = lambda col: float(np.interp(mjd, days, t[col]))  # noqa: E731
    rho_m, lat, npang = at("Rho") * 1.4959787066e11, np.radians(at("DiskLat")), at("NP_ang")
    v = at("RadVel") * 1.4959787066e11 / 86400.0                     # m/s
    req, rp = 500.0 * (t["radii_km"][0] + t["radii_km"][1]), 1000.0 * t["radii_km"][2]
    rpap = np.sqrt((req * np.sin(lat)) ** 2 + (rp * np.cos(lat)) ** 2)

    def planck(f, temp):
        return 2 * h * f ** 3 / c ** 2 / (np.exp(h * f / (k * temp)) - 1)
    fluxes = []
    for f in chan_freqs:
        fb = f * (1 + v / c)
        tb = np.interp(fb / 1e9, t["tb_ghz"], t["tb_k"])
        fluxes.append(1e26 * (planck(fb, tb) - planck(fb, 2.725)) * np.pi * req * rpap / rho_m ** 2)
    asec = 180 / np.pi * 3600
    return {"chan_flux": fluxes, "major_arcsec": 2 * req / rho_m * asec, "minor_arcsec": 2 * rpap / rho_m * asec,
            "pa_deg": (npang + 90.0) % 180.0, "distance_au": rho_m / 1.4959787066e11}


def elliptical_q(uvw: np.ndarray, major: float, minor: float, pa_deg: float) -> np.ndarray:
    """uv distance (m) of an elliptical disk mapped onto the circular disk of diameter `major`."""
    pa = np.radians(pa_deg)
    a = uvw[:, 0] * np.sin(pa) + uvw[:, 1] * np.cos(pa)
    b = (uvw[:, 0] * np.cos(pa) - uvw[:, 1] * np.sin(pa)) * minor / major
    return np.sqrt(a * a + b * b)
