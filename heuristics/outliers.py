"""Robust flagging of outlier amplitude solutions, per field and spw (not ALMA's pooled stats)."""
from __future__ import annotations

import numpy as np

MAD_SCALE = 0.6745


def outlier_flags(amp: np.ndarray, flag: np.ndarray, group: np.ndarray, sigma: float = 50.0,
                  floor_frac: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Flag |a - median| / MAD > sigma within each group (e.g. field x spw).

    amp, flag: (row, pol); group: (row,) labels. MAD = median|a - median| / 0.6745, guarded from
    below by floor_frac * median so identical amplitudes (MAD = 0) never divide by zero.
    Returns (new flags (row, pol) — only the ones added, deviation in MADs (row, pol)).
    """
    amp = np.asarray(amp, float)
    new = np.zeros(amp.shape, bool)
    dev = np.zeros(amp.shape)
    for gval in np.unique(group):
        rows = group == gval
        ok = ~flag & rows[:, None]
        if ok.sum() < 3:
            continue
        a = amp[ok]
        med = np.median(a)
        mad = max(np.median(np.abs(a - med)) / MAD_SCALE, floor_frac * abs(med), 1e-12)
        d = np.abs(amp - med) / mad
        dev = np.where(rows[:, None], d, dev)
        new |= ok & (d > sigma)
    return new, dev
