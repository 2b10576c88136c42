"""Reference-antenna ranking as the ALMA pipeline's hif_refant does: geometry + flagging."""
from __future__ import annotations

import numpy as np


def rank_refants(positions: np.ndarray, unflagged_fraction: np.ndarray,
                 geometry: bool = True, flagging: bool = True) -> np.ndarray:
    """Antenna indices, best first.

    geometry score: nant * (1 - d / d_max), d = distance from the array centre (median position);
    flagging score: nant * unflagged fraction / its maximum. Ties keep antenna order.
    Antennas with no unflagged data rank last.
    """
    pos = np.asarray(positions, float)
    n = len(pos)
    score = np.zeros(n)
    if geometry and n:
        d = np.linalg.norm(pos - np.median(pos, axis=0), axis=1)
        score += n * (1 - d / max(d.max(), 1e-9))
    uf = np.asarray(unflagged_fraction, float)
    if flagging and n:
        score += n * uf / max(uf.max(), 1e-9)
    score[uf <= 0] = -np.inf
    return np.argsort(-score, kind="stable")
