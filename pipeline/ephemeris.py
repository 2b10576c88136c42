"""Apparent size of a solar-system calibrator at the time of the observation.

1. The MS's own ephemeris (ALMA attaches one per ephemeris field): FIELD's EPHEMERIS_ID points
   at FIELD/EPHEM<id>_*.tab, whose keyword `meanrad` (km; or the mean of `radii`) gives the
   radius and whose `Rho` column (geocentric distance, AU) against `MJD` gives the distance.
2. Otherwise astropy's built-in solar-system ephemeris (no download) for the body, or for a
   moon its planet, and the body's mean radius (heuristics.solarsystem). Asteroids need case 1
   or a diameter from the user.
The size is taken at the middle of the field's scans.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass

import numpy as np

from .errors import PipelineError
from .heuristics.solarsystem import ASTEROIDS, MEAN_RADIUS_KM, PARENT, apparent_diameter_arcsec
from .ms.metadata import MSMetadata


@dataclass
class BodySize:
    body: str
    diameter_arcsec: float
    distance_au: float
    radius_km: float
    origin: str


def field_mid_time(md: MSMetadata, field_id: int) -> float:
    """MJD seconds at the middle of the field's scans (the observation's middle if none)."""
    sc = [s for s in md.scans if field_id in s.field_ids]
    if not sc:
        return 0.5 * (md.time_range[0] + md.time_range[1])
    return 0.5 * (min(s.start for s in sc) + max(s.end for s in sc))


def _quantity_km(q) -> float:
    v = np.atleast_1d(q["value"] if isinstance(q, dict) else q).astype(float)
    unit = q.get("unit", "km") if isinstance(q, dict) else "km"
    scale = {"km": 1.0, "m": 1e-3}.get(str(unit), 1.0)
    return float(np.mean(v)) * scale


@dataclass
class MSEphemeris:
    """A field's FIELD/EPHEM*.tab: its columns (MJD days; Rho AU; RadVel km/s; angles deg) and radii."""
    file: str
    cols: dict
    radius_km: float | None

    def at(self, col: str, mjd: float) -> float | None:
        """The column at `mjd` (linear), None when absent or when mjd is outside the table."""
        t = self.cols["MJD"]
        if col not in self.cols or not t[0] <= mjd <= t[-1]:
            return None
        return float(np.interp(mjd, t, self.cols[col]))


_VELOCITY_KM_S = {"AU/d": 1.495978707e8 / 86400.0, "km/s": 1.0, "m/s": 1e-3}


def ms_ephemeris(md: MSMetadata, field_id: int) -> MSEphemeris | None:
    """The field's ephemeris table in the MS (ALMA attaches one per ephemeris field), if any."""
    from casacore.tables import table
    ft = table(os.path.join(md.path, "FIELD"), ack=False)
    try:
        eid = int(ft.getcell("EPHEMERIS_ID", field_id)) if "EPHEMERIS_ID" in ft.colnames() else -1
    finally:
        ft.close()
    hits = sorted(glob.glob(os.path.join(md.path, "FIELD", f"EPHEM{eid}_*.tab"))) if eid >= 0 else []
    if not hits:
        return None
    t = table(hits[0], ack=False)
    try:
        kw = t.getkeywords()
        r = _quantity_km(kw["radii"]) if "radii" in kw else _quantity_km(kw["meanrad"]) if "meanrad" in kw else None
        cols = {c: np.asarray(t.getcol(c), float) for c in ("MJD", "Rho", "RadVel", "DiskLat", "NP_ang")
                if c in t.colnames()}
        unit = (t.getcolkeywords("RadVel").get("QuantumUnits") or ["AU/d"])[0] if "RadVel" in cols else "AU/d"
    finally:
        t.close()
    if "MJD" not in cols or len(cols["MJD"]) == 0:
        return None
    if "RadVel" in cols:
        cols["RadVel"] = cols["RadVel"] * _VELOCITY_KM_S.get(str(unit), _VELOCITY_KM_S["AU/d"])
    order = np.argsort(cols["MJD"])
    return MSEphemeris(os.path.basename(hits[0]), {k: v[order] for k, v in cols.items()}, r)


def from_ms_table(md: MSMetadata, field_id: int, body: str) -> BodySize | None:
    """The size from the MS's ephemeris table of the field, if it has one."""
    e = ms_ephemeris(md, field_id)
    if e is None:
        return None
    if e.radius_km is None:
        raise PipelineError(f"ephemeris table {e.file} of {md.name} has no 'meanrad' or 'radii' keyword; "
                            f"give setmodel.disk_arcsec")
    if "Rho" not in e.cols:
        return None
    d = float(np.interp(field_mid_time(md, field_id) / 86400.0, e.cols["MJD"], e.cols["Rho"]))
    return BodySize(body, float(apparent_diameter_arcsec(e.radius_km, d)), d, e.radius_km,
                    f"MS ephemeris table {e.file}")


def from_astropy(md: MSMetadata, field_id: int, body: str) -> BodySize:
    """The size from astropy's built-in ephemeris (planets; moons at their planet's distance)."""
    if body in ASTEROIDS:
        raise PipelineError(f"{body} has no ephemeris table in {md.name} and the built-in "
                            f"ephemeris has no asteroids; give setmodel.disk_arcsec")
    from astropy.coordinates import get_body, solar_system_ephemeris
    from astropy.time import Time
    target = PARENT.get(body, body).lower()
    when = Time(field_mid_time(md, field_id) / 86400.0, format="mjd", scale="utc")
    with solar_system_ephemeris.set("builtin"):
        d = float(get_body(target, when).distance.to("au").value)
    r = MEAN_RADIUS_KM[body]
    via = f" (at {PARENT[body]}'s distance)" if body in PARENT else ""
    return BodySize(body, float(apparent_diameter_arcsec(r, d)), d, r,
                    f"astropy built-in ephemeris{via}, mean radius {r} km")


def body_size(md: MSMetadata, field_id: int, body: str) -> BodySize:
    return from_ms_table(md, field_id, body) or from_astropy(md, field_id, body)
