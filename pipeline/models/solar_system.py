"""Butler-JPL-Horizons 2012 bodies: the shipped tables and the model of a body at a time.

The default install ships the brightness-temperature tables and daily geocentric JPL-Horizons
ephemerides (2010-2030) of the bodies whose model is static (solar_system.npz, made from the CASA
data package by benchmarks/casa_oracle/extract_solar_system.py; solar_system_provenance.json
names the files and versions), and the ephemerides of Mars, Ceres, Pallas and Vesta, whose
models are tables in time and frequency (20-75 MB each, not shipped): those are read from the CASA
data package when it is installed (`pip install fluxpipe[casadata]`, or a copy of its data folder
named by the environment variable FLUXPIPE_CASADATA), a few rows about the observation's time.
The asteroids' static tables (the model before their time tables begin, as in CASA) are shipped.
An MS's own ephemeris table (FIELD/EPHEM*.tab) gives the distance, radial velocity, sub-Earth
latitude and pole angle where it has them (fluxpipe.ephemeris.ms_ephemeris).
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
TIME_TABLES = {"Mars": "Mars_Tb_time.dat", "Ceres": "Ceres_fd_time.dat", "Pallas": "Pallas_fd_time.dat",
               "Vesta": "Vesta_fd_time.dat"}          # in casadata's alma/SolarSystemModels
FLUX_TABLES = ("Ceres", "Pallas", "Vesta")            # their time tables hold flux densities (Jy)
UNSUPPORTED = ("Saturn", "Mercury", "Moon", "Sun", "Pluto", "Lutetia")


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
    tb_k: float | None = None     # the Tb table at the channels' mean frequency (None: a flux table)


def _ephemeris(t: dict, body: str, mjd: float, ms_ephem=None) -> tuple[float, float, float, float, str]:
    """(distance AU, sub-Earth latitude deg, pole angle deg, radial velocity km/s, where from):
    the MS's ephemeris table where it has the column at mjd, else the shipped one."""
    n = len(t["Rho"])
    days = t["mjd0"][0] + np.arange(n)
    shipped = days[0] < mjd < days[-1]
    f = lambda col, scale=1.0: bjh2012.interpolate(days, t[col] * scale, mjd)  # noqa: E731
    out, used = [], []
    for col, scale in (("Rho", 1.0), ("DiskLat", 1.0), ("NP_ang", 1.0), ("RadVel", bjh2012.AU_M / 86400e3)):
        v = ms_ephem.at(col, mjd) if ms_ephem is not None else None
        if v is None:
            if not shipped:
                raise PipelineError(f"{body}: MJD {mjd:.2f} is outside the shipped ephemeris (MJD {days[0]:.0f}-"
                                    f"{days[-1]:.0f}) and the MS's own has no {col} there; give setmodel.flux "
                                    f"(and spix) or a flux.csv row with setmodel.standard=flux.csv")
            v = f(col, scale)
        else:
            used.append(col)
        out.append(0.0 if v == -999.0 else v)          # -999: not given (CASA takes 0)
    src = "shipped JPL-Horizons ephemeris" if not used else \
        f"{', '.join(used)} from the MS's {ms_ephem.file}" + ("" if len(used) == 4 else ", the rest shipped")
    return out[0], out[1], out[2], out[3], src


def casadata_dir() -> str | None:
    """The CASA data folder: FLUXPIPE_CASADATA, else the installed casadata package's, else None."""
    d = os.environ.get("FLUXPIPE_CASADATA")
    if d:
        return d
    try:
        import casadata
    except ImportError:
        return None
    return getattr(casadata, "datapath", None)


def time_table_rows(path: str, mjd: float, before: int = 10, after: int = 10):
    """(table frequencies GHz, the rows' MJDs, their values) of the rows nearest-10 .. nearest+9
    of a '<Body>_Tb_time.dat'/'_fd_time.dat' file (MJD in column 6), found by bisection on the
    file's bytes (the files hold 10^5 rows); None when mjd is outside the table."""
    with open(path, "rb") as fh:
        freqs = np.array(fh.readline().split(), float)
        start, size = fh.tell(), fh.seek(0, 2)

        def first_mjd(off: int) -> float:
            fh.seek(off)
            if off > start:
                fh.readline()
            line = fh.readline().split()
            return float(line[5]) if len(line) > 5 else np.inf
        lo, hi = start, size
        while hi - lo > 8192:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if first_mjd(mid) < mjd else (lo, mid)
        span = 400 * (before + after + 4)           # rows are < 200 bytes
        fh.seek(max(start, lo - span // 2))
        if lo - span // 2 > start:
            fh.readline()
        block = [ln.split() for ln in fh.read(span + (hi - lo)).splitlines()[:-1]]
    rows = np.array([[float(v) for v in r[5:6 + len(freqs)]] for r in block if len(r) >= 6 + len(freqs)])
    t = rows[:, 0]
    if not t[0] <= mjd <= t[-1]:
        return None
    i = bjh2012.nearest_index(t, mjd)
    if i - before < 0 or i + after > len(t) or abs(t[i] - mjd) > 2 * np.median(np.diff(t)):
        return None                                 # too near an end, or in a gap of the table
    return freqs, t[i - before:i + after], rows[i - before:i + after, 1:]


def body_model(body: str, mjd: float, lo_hz: np.ndarray, hi_hz: np.ndarray,
               geometry: str = "correct", ms_ephem=None) -> BodyModel:
    """The model of `body` at `mjd` (UTC days) for channels [lo, hi] (Hz); ms_ephem: the MS's
    own ephemeris table of the field (fluxpipe.ephemeris.MSEphemeris), used where it has values."""
    if body in UNSUPPORTED:
        raise PipelineError(f"{NAME} has no model for {body} (CASA cannot model it either); give "
                            f"setmodel.flux (and spix) or a flux.csv row with setmodel.standard=flux.csv")
    t = _tables().get(body)
    if t is None:
        raise PipelineError(f"{NAME} has no model for {body}; bodies: {', '.join(bodies())}")
    rho, lat, npang, rv, eph = _ephemeris(t, body, mjd, ms_ephem)
    radii = tuple(float(r) for r in t["radii_km"])
    source = f"tables shipped with fluxpipe (from casadata {provenance()['casadata']})"
    try:
        rows = _time_rows(body, mjd) if body in TIME_TABLES else None
        mid = 0.5 * (np.min(lo_hz) + np.max(hi_hz))
        if rows is not None:
            fl = bjh2012.time_table_fluxes(*rows[:3], mjd, lo_hz, hi_hz, body in FLUX_TABLES, radii, rho, lat, rv,
                                           geometry)
            source = rows[3]
            tb = None if body in FLUX_TABLES else bjh2012.brightness_temperature(
                rows[0], bjh2012.time_interpolated(rows[1], rows[2], mjd), mid, rv)
        else:       # a static table (the asteroids' before their time tables begin, as CASA)
            fl = bjh2012.channel_fluxes(t["tb_ghz"], t["tb_k"], lo_hz, hi_hz, radii, rho, lat, rv, geometry)
            tb = bjh2012.brightness_temperature(t["tb_ghz"], t["tb_k"], mid, rv)
    except ValueError as exc:
        raise PipelineError(f"{body}: {exc}; give setmodel.flux (and spix) or a flux.csv row with "
                            f"setmodel.standard=flux.csv") from None
    r_eq, r_pap = bjh2012.apparent_radii(radii, lat, geometry)
    major, minor, pa = bjh2012.disk_axes(r_eq, r_pap, rho * bjh2012.AU_M, npang, geometry)
    return BodyModel(body, mjd, fl, major, minor, pa, rho, lat, rv, radii, geometry, f"{source}; {eph}", tb)


def _time_rows(body: str, mjd: float):
    """The time table's rows about mjd and where they came from; None before the table begins
    for a body with a static table (the asteroids, as CASA); an error when unavailable."""
    how = "give setmodel.flux (and spix) or a flux.csv row with setmodel.standard=flux.csv"
    d = casadata_dir()
    path = os.path.join(d, "alma", "SolarSystemModels", TIME_TABLES[body]) if d else ""
    if not path or not os.path.exists(path):
        raise PipelineError(f"{body}'s {NAME} model varies in time: install the CASA data package "
                            f"(pip install 'fluxpipe[casadata]') or set FLUXPIPE_CASADATA to its data folder, or {how}")
    rows = time_table_rows(path, mjd)
    if rows is None:
        with open(path) as fh:
            fh.readline()
            begins = float(fh.readline().split()[5])
        if body in FLUX_TABLES and mjd < begins:
            return None
        raise PipelineError(f"{body}: MJD {mjd:.2f} is outside {TIME_TABLES[body]}; {how}")
    return (*rows, f"{TIME_TABLES[body]} in {d}")
