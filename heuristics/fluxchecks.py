"""Checks of the transfer fluxes that ALMA's hifa_gfluxscale makes (pure numerics; the scores
are in fluxpipe.qa).

- The reference spw of the spw-to-spw consistency (CAS-10792, 'k_spw'): the highest-SNR spw of
  at least 1 GHz bandwidth, else of at least the median bandwidth; per spw,
  k = (flux / catalogue) / (the same for the reference spw).
- The amplitude calibrator's amplitude variation in time (PIPE-2553): per integration the mean
  calibrated amplitude; (P80 - P20) / median (percentiles of the nearest rank).
"""
from __future__ import annotations

import numpy as np

ONE_GHZ = 1e9


def reference_spw(spws: list[int], bandwidth_hz: list[float], snr: list[float]) -> int | None:
    """The highest-SNR spw among those of >= 1 GHz (else >= the median bandwidth)."""
    ok = [(s, b, q) for s, b, q in zip(spws, bandwidth_hz, snr) if q is not None and np.isfinite(q)]
    if not ok:
        return None
    wide = [x for x in ok if x[1] >= ONE_GHZ] or [x for x in ok if x[1] >= np.median([x[1] for x in ok])]
    return max(wide, key=lambda x: x[2])[0]


def k_spw(ratio: dict[int, float], ref: int) -> dict[int, float]:
    """Per spw (but the reference), its flux/catalogue ratio over the reference spw's."""
    return {s: r / ratio[ref] for s, r in ratio.items() if s != ref and ratio.get(ref)}


def per_integration_means(time: np.ndarray, amp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The integrations' times and mean amplitudes (rows grouped by time to the millisecond)."""
    t = np.round(np.asarray(time, float), 3)
    u, inv = np.unique(t, return_inverse=True)
    return u, np.bincount(inv, weights=np.asarray(amp, float)) / np.bincount(inv)


def amp_time_variation(means: np.ndarray) -> float | None:
    """(P80 - P20) / median of per-integration amplitudes; None without a usable median."""
    a = np.asarray(means, float)
    a = a[np.isfinite(a)]
    if a.size == 0 or np.median(a) == 0:
        return None
    p20, p80 = np.percentile(a, [20, 80], method="nearest")
    return float((p80 - p20) / np.median(a))
