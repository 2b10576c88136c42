"""Derived (calibrated-visibility) flux densities: statistics on arrays, no I/O."""
from __future__ import annotations

import numpy as np


def row_means(vis: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the weighted mean over polarisations of the real part of calibrated
    visibilities (row, pol) and its weight; rows without weight are dropped."""
    w = weight.sum(axis=1)
    ok = w > 0
    x = (weight * vis.real).sum(axis=1)[ok] / w[ok]
    return x, w[ok]


def weighted_mean_error(x: np.ndarray, w: np.ndarray) -> tuple[float, float, int] | None:
    """Weighted mean of per-row values and its standard error from their scatter,
    sqrt(var / (N_eff - 1)), N_eff = (sum w)^2 / sum w^2 — honest when the weights are not
    1/sigma^2. None with fewer than two rows."""
    if len(x) < 2:
        return None
    mean = float(np.sum(w * x) / np.sum(w))
    var = float(np.sum(w * (x - mean) ** 2) / np.sum(w))
    neff = float(np.sum(w) ** 2 / np.sum(w ** 2))
    return mean, float(np.sqrt(var / max(neff - 1, 1))), int(len(x))
