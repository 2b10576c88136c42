"""The size of a disk-like calibrator from its visibility amplitudes, antenna gains free.

Model per baseline row: ln|V_ij| = a_{i,g} + a_{j,g} + ln|D(q_ij; theta)|, with a per antenna and
group g (a scan and spw: gains and flux absorbed) and D the disk's normalised visibility
(uniform or limb-darkened, heuristics.resolved.disk_visibility) at uv distance q (wavelengths).
Weights are SNR^2 (the variance of ln|V| is (sigma/|V|)^2); rows below SNR 3 are left out (their
log-amplitudes are biased). For each trial theta the a's follow from linear least squares
(per group, all at once); chi2(theta) is scanned on a grid and refined by a parabola; the error
is where chi2 has risen by 1 (scaled by the reduced chi2 when above 1), searched upwards.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .constants import ARCSEC
from .resolved import disk_visibility


@dataclass
class DiskFit:
    theta_arcsec: float
    error_arcsec: float
    chi2_min: float
    dof: int
    grid_arcsec: np.ndarray
    chi2: np.ndarray
    chi2_of: Callable[[float], float] = field(repr=False, default=lambda t: float("nan"))


def _chi2(theta: float, y, w, q, a1, a2, grp, nant: int, ngrp: int, limb: float) -> float:
    r = y - np.log(np.maximum(np.abs(disk_visibility(q, theta, limb)), 1e-6))
    base = grp * nant * nant
    cells = np.concatenate([base + a1 * nant + a1, base + a2 * nant + a2,
                            base + a1 * nant + a2, base + a2 * nant + a1])
    N = np.bincount(cells, np.tile(w, 4), ngrp * nant * nant).reshape(ngrp, nant, nant)
    N += 1e-9 * np.eye(nant)[None] * (np.trace(N, axis1=1, axis2=2)[:, None, None] + 1)
    i, j = grp * nant + a1, grp * nant + a2
    b = np.bincount(i, w * r, ngrp * nant) + np.bincount(j, w * r, ngrp * nant)
    a = np.linalg.solve(N, b.reshape(ngrp, nant, 1))[..., 0].ravel()
    res = r - a[i] - a[j]
    return float(np.sum(w * res ** 2))


def fit_disk(q: np.ndarray, amp: np.ndarray, sigma: np.ndarray, a1: np.ndarray, a2: np.ndarray,
             group: np.ndarray, limb: float = 0.0, max_arcsec: float | None = None,
             ngrid: int = 160) -> DiskFit | None:
    """Fit a disk diameter to amplitudes `amp` (noise `sigma`) at uv distances `q` (wavelengths).

    Returns None when there are too few good rows (fewer than the parameters + 3)."""
    ok = (amp > 3 * sigma) & (sigma > 0) & (a1 != a2)
    if not ok.any():
        return None
    q, amp, sigma, a1, a2 = q[ok], amp[ok], sigma[ok], a1[ok], a2[ok]
    g = np.unique(group[ok], return_inverse=True)[1]
    nant, ngrp = int(max(a1.max(), a2.max())) + 1, int(g.max()) + 1
    npar = ngrp * nant + 1
    if len(q) < npar + 3:
        return None
    y, w = np.log(amp), (amp / sigma) ** 2
    if max_arcsec is None:   # up to 1.5 x the size whose first null falls on the shortest baseline
        max_arcsec = 1.5 * 1.22 / q.min() / ARCSEC
    grid = np.linspace(0, max_arcsec, ngrid)
    chi = np.array([_chi2(t * ARCSEC, y, w, q, a1, a2, g, nant, ngrp, limb) for t in grid])
    k = int(np.argmin(chi))
    theta = grid[k]
    if 0 < k < ngrid - 1:   # parabola through the three grid points around the minimum
        c0, c1, c2 = chi[k - 1], chi[k], chi[k + 1]
        den = c0 - 2 * c1 + c2
        if den > 0:
            theta = grid[k] + 0.5 * (c0 - c2) / den * (grid[1] - grid[0])
    chi2_of = lambda t: _chi2(t * ARCSEC, y, w, q, a1, a2, g, nant, ngrp, limb)  # noqa: E731
    cmin = chi2_of(theta)
    dof = max(len(q) - npar, 1)
    # 1-sigma: where chi2 has risen by 1 (x the reduced chi2 when above 1); bisection upwards,
    # so an unresolved source gets an upper limit instead of a curvature at theta = 0
    target = cmin + max(cmin / dof, 1.0)
    lo, hi = theta, grid[-1]
    if chi2_of(hi) < target:
        err = float("inf")
    else:
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if chi2_of(mid) < target else (lo, mid)
        err = float(hi - theta)
    return DiskFit(float(theta), err, cmin, dof, grid, chi, chi2_of)
