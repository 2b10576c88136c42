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


def hand_amplitudes(vis: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row, the weighted mean over polarisations of |vis| (row, pol), its summed weight and
    the mask of rows with weight. Amplitudes before averaging: before calibration the hands'
    gain phases differ, and a vector average across them would decorrelate."""
    w = weight.sum(axis=1)
    ok = w > 0
    return (np.abs(vis) * weight).sum(axis=1)[ok] / w[ok], w[ok], ok


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


class WeightedStats:
    """weighted_mean_error accumulated block by block (memory independent of the rows).

    Sums are taken about a shift (the first block's mean), which keeps the variance free of
    cancellation: var = sum w (x - c)^2 / sum w - (mean - c)^2.
    """

    def __init__(self) -> None:
        self.shift = None
        self.sw = self.swx = self.swxx = self.sww = 0.0
        self.n = 0

    def add(self, x: np.ndarray, w: np.ndarray) -> None:
        if not len(x):
            return
        if self.shift is None:
            self.shift = float(np.sum(w * x) / np.sum(w)) if np.sum(w) > 0 else 0.0
        d = x - self.shift
        self.sw += float(np.sum(w))
        self.swx += float(np.sum(w * d))
        self.swxx += float(np.sum(w * d * d))
        self.sww += float(np.sum(w * w))
        self.n += len(x)

    def result(self) -> tuple[float, float, int] | None:
        if self.n < 2 or self.sw <= 0:
            return None
        md = self.swx / self.sw
        var = max(self.swxx / self.sw - md * md, 0.0)
        neff = self.sw ** 2 / self.sww
        return self.shift + md, float(np.sqrt(var / max(neff - 1, 1))), self.n
