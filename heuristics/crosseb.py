"""Consistency of one calibrator's flux across EBs (numerics only: arrays in, numbers out).

Fluxes of the same field from several EBs are grouped by frequency (spws whose centre
frequencies agree within `tol`, relative); within each group of >= 2 EBs the chi2 of the fluxes
about their weighted mean counts towards the field's variability statistic:

    chi2 = sum_groups sum_i (S_i - <S>)^2 / sigma_i^2,   dof = sum_groups (n_group - 1)

and its upper-tail probability p says whether the fluxes agree within their errors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

P_YELLOW = 1e-2     # p below this: the fluxes disagree more than their errors allow (QA 0.66)
P_RED = 1e-4        # p below this: variable source or a flux-scale problem in one EB (QA 0.33)


@dataclass
class Group:
    freq_hz: float          # weighted mean frequency of the group
    members: list[int]      # indices into the input arrays
    mean_jy: float
    error_jy: float         # of the weighted mean
    chi2: float
    dof: int


def frequency_groups(freq: np.ndarray, tol: float = 5e-3) -> list[list[int]]:
    """Indices grouped by frequency: sorted, a new group where the next frequency is more than
    `tol` (relative) above the group's first."""
    order = np.argsort(freq)
    groups: list[list[int]] = []
    for i in order:
        if groups and freq[i] <= freq[groups[-1][0]] * (1 + tol):
            groups[-1].append(int(i))
        else:
            groups.append([int(i)])
    return groups


def consistency(freq: np.ndarray, flux: np.ndarray, err: np.ndarray, eb: np.ndarray,
                tol: float = 5e-3) -> tuple[list[Group], float, int, float]:
    """Per frequency group: weighted mean, its error, chi2; and overall (chi2, dof, p). A group
    holding two values of the same EB (two spws at one frequency) keeps them both: they are
    separate measurements. p is 1.0 when no group has two EBs."""
    from scipy.special import chdtrc  # the chi2 survival function (scipy.stats costs 0.35 s to import)
    freq, flux, err = (np.asarray(a, float) for a in (freq, flux, err))
    eb = np.asarray(eb)
    ok = np.isfinite(flux) & (err > 0)
    out, tot, dof = [], 0.0, 0
    for g in frequency_groups(np.where(ok, freq, np.inf), tol):
        g = [i for i in g if ok[i]]
        if not g:
            continue
        w = 1 / err[g] ** 2
        mean = float(np.sum(w * flux[g]) / np.sum(w))
        c = float(np.sum(w * (flux[g] - mean) ** 2))
        d = len(g) - 1 if len(set(eb[g].tolist())) > 1 else 0
        out.append(Group(float(np.sum(w * freq[g]) / np.sum(w)), g, mean, float(1 / np.sqrt(np.sum(w))),
                         c if d else 0.0, d))
        tot, dof = tot + (c if d else 0.0), dof + d
    p = float(chdtrc(dof, tot)) if dof else 1.0
    return out, tot, dof, p


def variability_score(p: float, dof: int) -> float:
    """QA: 1.0 consistent (or nothing to compare), 0.66 below P_YELLOW, 0.33 below P_RED."""
    if not dof or p >= P_YELLOW:
        return 1.0
    return 0.66 if p >= P_RED else 0.33
