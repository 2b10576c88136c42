"""Butler-JPL-Horizons 2012 bodies: the shipped tables and the model of a body at a time.

The default install ships the brightness-temperature tables and daily geocentric JPL-Horizons
ephemerides (2010-2030) of the bodies whose model is static (solar_system.npz, made from the CASA
data package by benchmarks/casa_oracle/extract_solar_system.py; solar_system_provenance.json
names the files and versions). Mars and the asteroids Ceres, Pallas and Vesta have
time-variable tables (10-100 MB) and are not shipped.
"""
from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass

import numpy as np

from ..errors import PipelineError
from ..heuristics import bjh2012

HERE = os.path.dirname(__file__)
NAME = "Butler-JPL-Horizons 2012"
ALIASES = ("BJH2012",)              # setmodel.standard also takes these (case, spaces, hyphens ignored)
NOT_SHIPPED = ("Mars", "Ceres", "Pallas", "Vesta", "Lutetia")
UNSUPPORTED = ("Saturn", "Mercury", "Moon", "Sun", "Pluto")


@functools.cache
def _tables() -> dict:
    with np.load(os.path.join(HERE, "solar_system.npz")) as z:
        out: dict = {}
        for k in z.files:
            body, col = k.split("/")
            out.setdefault(body, {})[col] = z[k]
    return out


@functools.cache
def provenance() -> dict:
    with open(os.path.join(HERE, "solar_system_provenance.json")) as fh:
        return json.load(fh)


def bodies() -> tuple[str, ...]:
    return tuple(_tables())


@dataclass
class BodyModel:
    body: str
    mjd: float
    fluxes: np.ndarray            # Jy per channel
    major_arcsec: float
    minor_arcsec: float
    pa_deg: float
    distance_au: float
    sub_earth_lat_deg: float
    radvel_km_s: float
    radii_km: tuple
    geometry: str
    source: str                   # where the tables came from


def _ephemeris(t: dict, body: str, mjd: float) -> tuple[float, float, float, float]:
    n = len(t["Rho"])
    days = t["mjd0"][0] + np.arange(n)
    if not days[0] < mjd < days[-1]:
        raise PipelineError(f"{body}: MJD {mjd:.2f} is outside the shipped ephemeris "
                            f"(MJD {days[0]:.0f}-{days[-1]:.0f}); give setmodel.flux (and spix) or a flux.csv "
                            f"row with setmodel.standard=flux.csv")
    f = lambda col, scale=1.0: bjh2012.interpolate(days, t[col] * scale, mjd)  # noqa: E731
    lat, npang = f("DiskLat"), f("NP_ang")       # -999: not given (CASA takes 0)
    return (f("Rho"), 0.0 if lat == -999.0 else lat, 0.0 if npang == -999.0 else npang,
            f("RadVel") * bjh2012.AU_M / 86400e3)


def body_model(body: str, mjd: float, lo_hz: np.ndarray, hi_hz: np.ndarray,
               geometry: str = "correct") -> BodyModel:
    """The model of `body` at `mjd` (UTC days) for channels [lo, hi] (Hz)."""
    if body in UNSUPPORTED:
        raise PipelineError(f"{NAME} has no model for {body} (CASA cannot model it either); give "
                            f"setmodel.flux (and spix) or a flux.csv row with setmodel.standard=flux.csv")
    if body in NOT_SHIPPED:
        raise PipelineError(f"{body}'s {NAME} model varies in time and is not shipped with fluxpipe; give "
                            f"setmodel.flux (and spix) or a flux.csv row with setmodel.standard=flux.csv")
    t = _tables().get(body)
    if t is None:
        raise PipelineError(f"{NAME} has no model for {body}; bodies: {', '.join(bodies())}")
    rho, lat, npang, rv = _ephemeris(t, body, mjd)
    try:
        fl = bjh2012.channel_fluxes(t["tb_ghz"], t["tb_k"], lo_hz, hi_hz, t["radii_km"], rho, lat, rv, geometry)
    except ValueError as exc:
        raise PipelineError(f"{body}: {exc}; give setmodel.flux (and spix) or a flux.csv row with "
                            f"setmodel.standard=flux.csv") from None
    r_eq, r_pap = bjh2012.apparent_radii(t["radii_km"], lat, geometry)
    major, minor, pa = bjh2012.disk_axes(r_eq, r_pap, rho * bjh2012.AU_M, npang, geometry)
    casadata = provenance()["casadata"]
    return BodyModel(body, mjd, fl, major, minor, pa, rho, lat, rv, tuple(float(r) for r in t["radii_km"]),
                     geometry, f"tables shipped with fluxpipe (from casadata {casadata})")
