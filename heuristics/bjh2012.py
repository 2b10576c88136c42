"""Butler-JPL-Horizons 2012: flux density of a solar-system body from its brightness temperature
and its apparent geometry, as CASA's setjy computes it (casatasks solar_system_setjy).

Per channel [f_lo, f_hi] (Hz, in the body's frame): the Planck brightness of the tabulated Tb,
less the cosmic background's (2.725 K), is interpolated in brightness (cubic over the 11 nearest
table points, linear or nearest where the cubic overshoots) and integrated over the channel by the
trapezoid rule through the table's points; S = 1e26 * B * pi * R_eq * R_pap / D^2 (Jy). The disk
is elliptical: major axis 2 R_eq / D, minor axis 2 R_pap / D, with the apparent polar radius
R_pap = sqrt(R_eq^2 sin^2(lat) + R_p^2 cos^2(lat)) at the sub-Earth latitude `lat`.

Mars and the asteroids Ceres, Pallas and Vesta have tables in time and frequency
(`time_table_fluxes`): each table frequency's value is interpolated in time (CASA's
interpolate_list over the 20 rows about the nearest), Mars's Tb turned into brightness as above,
the asteroids' values being flux densities already; then integrated over each channel as above.

geometry='casa' reproduces CASA 6.7, which passes `lat` in degrees to sin/cos (as radians) and
gives the major axis the position angle of the north pole; 'correct' uses radians and puts the
major (equatorial) axis perpendicular to the pole.
"""
from __future__ import annotations

import numpy as np

from .constants import C_LIGHT

H_PLANCK = 6.62607015e-34
K_BOLTZMANN = 1.380649e-23
T_CMB = 2.725
AU_M = 1.4959787066e11              # CASA's AU and radian (solar_system_setjy), not IAU 2012's
RAD_TO_ARCSEC = 2.0626480624710e5


def brightness(freq_hz: np.ndarray, tb_k: np.ndarray) -> np.ndarray:
    """Planck brightness (W m^-2 Hz^-1 sr^-1) of Tb less that of the CMB."""
    f = np.asarray(freq_hz, float)
    x = H_PLANCK * f / K_BOLTZMANN
    return 2 * H_PLANCK * f ** 3 / C_LIGHT ** 2 * (1 / np.expm1(x / np.asarray(tb_k, float)) - 1 / np.expm1(x / T_CMB))


def nearest_index(x: np.ndarray, v: float) -> int:
    i = int(np.searchsorted(x, v))
    i = max(1, min(len(x) - 1, i))
    return i - 1 if v < 0.5 * (x[i - 1] + x[i]) else i


def interpolate(x: np.ndarray, y: np.ndarray, v: float) -> float:
    """CASA's interpolate_list: a cubic through the 11 table points about v; linear if the cubic
    is NaN or leaves the points' range by more than half of it; else the nearest point."""
    from scipy.interpolate import interp1d
    i = nearest_index(x, v)
    lo = max(0, i - 5)
    hi = 11 if lo == 0 else min(len(x), i + 5)
    if lo != 0 and hi == len(x):
        lo = hi - 11
    xs, ys = x[lo:hi], y[lo:hi]
    span = ys.max() - ys.min()

    def bad(val):
        return np.isnan(val) or val < ys.min() - span / 2 or val > ys.max() + span / 2
    try:
        val = float(interp1d(xs, ys, kind="cubic")(v))
    except ValueError:
        val = np.nan
    if bad(val):
        val = float(interp1d(xs, ys, kind="linear")(v))
    return float(y[i]) if bad(val) else val


def channel_mean(x: np.ndarray, y: np.ndarray, f_lo: float, f_hi: float,
                 y_lo: float | None = None, y_hi: float | None = None) -> float:
    """Mean of y over [f_lo, f_hi]: trapezoids through the table points inside (CASA's
    integrate_Tb). y_lo, y_hi: y interpolated at the edges, when already known."""
    y_lo = interpolate(x, y, f_lo) if y_lo is None else y_lo
    y_hi = interpolate(x, y, f_hi) if y_hi is None else y_hi
    i_lo = nearest_index(x, f_lo)
    i_lo += f_lo > x[i_lo]
    i_hi = nearest_index(x, f_hi)
    i_hi -= f_hi < x[i_hi]
    if i_lo > i_hi:
        s = (f_hi - f_lo) * (y_lo + y_hi) / 2
    else:
        s = (x[i_lo] - f_lo) * (y_lo + y[i_lo]) / 2 + (f_hi - x[i_hi]) * (y_hi + y[i_hi]) / 2
        s += float(np.sum(np.diff(x[i_lo:i_hi + 1]) * (y[i_lo + 1:i_hi + 1] + y[i_lo:i_hi]) / 2))
    return s / (f_hi - f_lo)


def apparent_radii(radii_km, sub_earth_lat_deg: float, geometry: str = "correct") -> tuple[float, float]:
    """(R_eq, R_pap) in m: R_eq the mean of the two equatorial radii, R_pap the apparent polar radius."""
    r_eq = 1000.0 * (radii_km[0] + radii_km[1]) / 2
    r_p = 1000.0 * radii_km[2]
    lat = sub_earth_lat_deg if geometry == "casa" else np.deg2rad(sub_earth_lat_deg)
    return r_eq, float(np.sqrt(r_eq ** 2 * np.sin(lat) ** 2 + r_p ** 2 * np.cos(lat) ** 2))


def doppler_frequencies(f_hz: np.ndarray, radvel_km_s: float) -> np.ndarray:
    """The frequencies at which the body's model is taken (CASA: f + (f - f/(1 + v/c)))."""
    f = np.asarray(f_hz, float)
    return 2 * f - f / (1 + radvel_km_s * 1e3 / C_LIGHT)


def disk_flux(mean_brightness: np.ndarray, r_eq_m: float, r_pap_m: float, distance_m: float) -> np.ndarray:
    """Flux density (Jy) of an elliptical disk of the given mean brightness."""
    return 1e26 * np.asarray(mean_brightness) * np.pi * r_eq_m * r_pap_m / distance_m ** 2


def disk_axes(r_eq_m: float, r_pap_m: float, distance_m: float, np_ang_deg: float,
              geometry: str = "correct") -> tuple[float, float, float]:
    """(major, minor) full axes in arcsec and the major axis's position angle (deg, N through E)."""
    pa = np_ang_deg if geometry == "casa" else (np_ang_deg + 90.0 + 180.0) % 180.0
    return 2 * RAD_TO_ARCSEC * r_eq_m / distance_m, 2 * RAD_TO_ARCSEC * r_pap_m / distance_m, pa


def _channel_means(x: np.ndarray, y: np.ndarray, lo_hz: np.ndarray, hi_hz: np.ndarray, radvel_km_s: float):
    """Mean of y over each Doppler-shifted channel [lo, hi] (x the table's frequencies, Hz)."""
    lo, hi = doppler_frequencies(lo_hz, radvel_km_s), doppler_frequencies(hi_hz, radvel_km_s)
    if lo.min() < x[0] or hi.max() > x[-1]:
        raise ValueError(f"frequencies {lo.min() / 1e9:.4g}-{hi.max() / 1e9:.4g} GHz outside the model's "
                         f"{x[0] / 1e9:.4g}-{x[-1] / 1e9:.4g} GHz")
    # adjacent channels share an edge: interpolate each distinct edge once
    edges = np.unique(np.r_[lo, hi])
    at = dict(zip(edges.tolist(), (interpolate(x, y, e) for e in edges)))
    return np.array([channel_mean(x, y, a, c, at[a], at[c]) for a, c in zip(lo.tolist(), hi.tolist())])


def channel_fluxes(tb_ghz: np.ndarray, tb_k: np.ndarray, lo_hz: np.ndarray, hi_hz: np.ndarray,
                   radii_km, distance_au: float, sub_earth_lat_deg: float, radvel_km_s: float,
                   geometry: str = "correct") -> np.ndarray:
    """Flux density (Jy) per channel [lo, hi] (Hz, topocentric) of a body with a static Tb table."""
    x = np.asarray(tb_ghz, float) * 1e9
    mb = _channel_means(x, brightness(x, tb_k), lo_hz, hi_hz, radvel_km_s)
    r_eq, r_pap = apparent_radii(radii_km, sub_earth_lat_deg, geometry)
    return disk_flux(mb, r_eq, r_pap, distance_au * AU_M)


def brightness_temperature(table_ghz: np.ndarray, tb_k: np.ndarray, f_hz: float, radvel_km_s: float) -> float:
    """The table's Tb (K) at the Doppler-shifted frequency f_hz (linear; for display)."""
    return float(np.interp(doppler_frequencies(np.array([f_hz]), radvel_km_s)[0] / 1e9, table_ghz, tb_k))


def time_interpolated(rows_mjd: np.ndarray, rows: np.ndarray, mjd: float) -> np.ndarray:
    """Each column of a time table's rows interpolated to mjd (CASA's interpolate_list)."""
    rows = np.asarray(rows, float)
    return np.array([interpolate(np.asarray(rows_mjd, float), rows[:, k], mjd) for k in range(rows.shape[1])])


def time_table_fluxes(table_ghz: np.ndarray, rows_mjd: np.ndarray, rows: np.ndarray, mjd: float,
                      lo_hz: np.ndarray, hi_hz: np.ndarray, is_flux: bool, radii_km, distance_au: float,
                      sub_earth_lat_deg: float, radvel_km_s: float, geometry: str = "correct") -> np.ndarray:
    """Flux density (Jy) per channel of a body whose table varies in time: rows (time, frequency)
    of Tb (K) or, with is_flux, of flux density (Jy), at times rows_mjd (the 20 rows about mjd
    that CASA takes). Each frequency is interpolated to mjd, then integrated over the channels."""
    x = np.asarray(table_ghz, float) * 1e9
    v = time_interpolated(rows_mjd, rows, mjd)
    m = _channel_means(x, v if is_flux else brightness(x, v), lo_hz, hi_hz, radvel_km_s)
    if is_flux:
        return m
    r_eq, r_pap = apparent_radii(radii_km, sub_earth_lat_deg, geometry)
    return disk_flux(m, r_eq, r_pap, distance_au * AU_M)
