"""The simulated array's geometry: antenna positions around the site (ITRF), Greenwich mean
sidereal time, and baseline uvw towards a direction."""
from __future__ import annotations

import numpy as np

from .presets import Preset

DAY = 86400.0


def _geodetic_to_itrf(lon: float, lat: float, h: float) -> np.ndarray:
    a, f = 6378137.0, 1 / 298.257223563
    e2 = f * (2 - f)
    n = a / np.sqrt(1 - e2 * np.sin(lat) ** 2)
    return np.array([(n + h) * np.cos(lat) * np.cos(lon), (n + h) * np.cos(lat) * np.sin(lon),
                     (n * (1 - e2) + h) * np.sin(lat)])


def _enu_to_itrf(enu: np.ndarray, lon: float, lat: float) -> np.ndarray:
    e, n, u = enu.T
    sl, cl, sp, cp = np.sin(lon), np.cos(lon), np.sin(lat), np.cos(lat)
    return np.stack([-sl * e - sp * cl * n + cp * cl * u,
                     cl * e - sp * sl * n + cp * sl * u,
                     cp * n + sp * u], axis=1)


def array_layout(p: Preset, rng: np.random.Generator) -> np.ndarray:
    """ITRF positions (nant, 3): log-uniform radii between r_min and r_max around the site,
    no two antennas closer than 15 m (12-m dishes must not overlap)."""
    enu = np.zeros((p.nant, 3))
    enu[0, :2] = [p.r_min * 0.8, 0.0]   # a central antenna: a natural reference antenna
    k = 1
    while k < p.nant:
        r = p.r_min * np.exp(rng.uniform(0, np.log(p.r_max / p.r_min)))
        az = rng.uniform(0, 2 * np.pi)
        cand = np.array([r * np.sin(az), r * np.cos(az), rng.normal(0, 1.0)])
        if np.linalg.norm(enu[:k, :2] - cand[:2], axis=1).min() >= 15.0:
            enu[k] = cand
            k += 1
    return _geodetic_to_itrf(*p.site) + _enu_to_itrf(enu, p.site[0], p.site[1])


def gmst_rad(t_mjd_s: np.ndarray) -> np.ndarray:
    d = t_mjd_s / DAY - 51544.5
    return np.deg2rad(np.mod(280.46061837 + 360.98564736629 * d, 360.0))


def uvw_for(pos: np.ndarray, a1: np.ndarray, a2: np.ndarray, t: np.ndarray, ra: float,
            dec: float) -> np.ndarray:
    """UVW (metres) of baselines pos[a2] - pos[a1] at times t towards (ra, dec)."""
    b = pos[a2] - pos[a1]
    h = gmst_rad(t) - ra
    sh, ch, sd, cd = np.sin(h), np.cos(h), np.sin(dec), np.cos(dec)
    bx, by, bz = b[:, 0], b[:, 1], b[:, 2]
    return np.stack([sh * bx + ch * by,
                     -sd * ch * bx + sd * sh * by + cd * bz,
                     cd * ch * bx - cd * sh * by + sd * bz], axis=1)
