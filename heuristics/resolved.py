"""Resolved (disk-like) calibrators: visibility model and ALMA's antenna selection."""
from __future__ import annotations

import numpy as np
from scipy.special import gamma, jv


def disk_visibility(q: np.ndarray, theta_rad: float, limb: float = 0.0) -> np.ndarray:
    """Normalised visibility of a disk of diameter theta at uv distance q (wavelengths).

    Brightness I(r) ~ (1 - r^2)^limb (limb = 0: uniform disk, V = 2 J1(x)/x);
    V(x) = Gamma(limb + 2) (2/x)^(limb + 1) J_{limb+1}(x), x = pi theta q. V(0) = 1.
    """
    x = np.pi * theta_rad * np.asarray(q, float)
    nu = limb + 1.0
    out = np.ones_like(x)
    nz = x > 1e-8
    out[nz] = gamma(nu + 1) * (2 / x[nz]) ** nu * jv(nu, x[nz])
    return out


def select_antennas(positions: np.ndarray, refant: int, theta_rad: float, lowest_freq_hz: float,
                    peak_fraction: float = 0.2, min_antennas: int = 3,
                    projected: np.ndarray | None = None) -> tuple[np.ndarray, float, bool]:
    """ALMA's resolved-calibrator antenna selection.

    lambda_max = c / lowest frequency; B0 = shortest baseline from the refant; peak = J1(a)/a at
    a = pi B0 theta / lambda; step B up from B0 in 1 m until J1(a)/a < peak_fraction * peak; keep
    antennas closer than that to the refant (refant included). `projected` may give the distance
    of each antenna from the refant to use instead of the ground distance.
    Returns (antenna indices, cutoff baseline in m, fell_back_to_all).
    """
    from scipy.special import j1
    c = 299792458.0
    lam = c / lowest_freq_hz
    pos = np.asarray(positions, float)
    d = projected if projected is not None else np.linalg.norm(pos - pos[refant], axis=1)
    others = np.delete(d, refant)
    b0 = float(others[others > 0].min())
    f = lambda b: j1(np.pi * b * theta_rad / lam) / (np.pi * b * theta_rad / lam)  # noqa: E731
    peak = f(b0)
    b = b0
    while f(b) >= peak_fraction * peak and b < d.max() + 1:
        b += 1.0
    ants = np.flatnonzero(d < b)
    if len(ants) < min_antennas:
        return np.arange(len(pos)), b, True
    return ants, b, False
