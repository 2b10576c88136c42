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
