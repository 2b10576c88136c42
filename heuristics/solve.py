"""Antenna-gain solver, vectorised over many solution intervals at once.

Data enter as per-baseline averages of V/M: X[s, p, i, j] with weights W[s, p, i, j]
(s: solution interval, p: polarisation or 1 for 'T', i/j: antennas; W = 0 where there is no
data; Hermitian: X[j, i] = conj X[i, j]). The solver minimises
    sum_ij W_ij |X_ij - g_i conj(g_j)|^2
by alternating (StefCal) updates g_i <- sum_j W_ij X_ij g_j / sum_j W_ij |g_j|^2, averaging
successive iterates for stability, all intervals and polarisations in one numpy expression.

Modes follow CASA's gaincal: 'p' normalises each averaged baseline visibility to unit
amplitude (weights scaled by its |V/M|^2) and keeps the phase of the solution; 'a' replaces it
by its amplitude and keeps |g|; 'ap' solves the full complex gain. Errors are 1/sqrt(Hessian diagonal)
= 1/sqrt(sum_j W_ij |g_j|^2), scaled by the reduced chi-square, and SNR = |g| / error with
|g| of the unconstrained solution (before phase-only normalisation), as CASA writes them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def apply_mode(R: np.ndarray, w: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Apply the solve mode to averaged baseline data R = <V/M> with weights w (0 = no data).

    As CASA, the transform acts on data already averaged over the solution interval and the
    channels (vector averages), which avoids the noise bias of per-sample amplitudes."""
    if mode == "ap":
        return R, w
    amp = np.abs(R)
    if mode == "a":
        return amp.astype(R.dtype), w
    if mode == "p":
        ok = amp > 0
        out = np.where(ok, R / np.where(ok, amp, 1), 0)
        return out.astype(R.dtype), w * amp ** 2
    raise ValueError(f"mode must be 'p', 'a' or 'ap', not {mode!r}")


def baseline_average(slot: np.ndarray, a1: np.ndarray, a2: np.ndarray, R: np.ndarray,
                     w: np.ndarray, nslot: int, nant: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted sums over rows and channels into (slot, pol, nant, nant) arrays.

    R, w: (row, chan, pol); returns (sum w R, sum w) on the upper triangle (i < j) only;
    autocorrelations are ignored. Use `hermitian` to fill and normalise.
    """
    cross = a1 != a2
    lo, hi = np.minimum(a1, a2)[cross], np.maximum(a1, a2)[cross]
    conj = (a1 > a2)[cross]
    wr = (w[cross] * R[cross]).sum(axis=1)             # (row, pol)
    wr = np.where(conj[:, None], np.conj(wr), wr)
    ws = w[cross].sum(axis=1)
    npol = R.shape[2]
    idx = ((slot[cross][:, None] * npol + np.arange(npol)) * nant + lo[:, None]) * nant + hi[:, None]
    size = nslot * npol * nant * nant
    sw = np.bincount(idx.ravel(), weights=ws.ravel(), minlength=size)
    sr = (np.bincount(idx.ravel(), weights=wr.real.ravel(), minlength=size)
          + 1j * np.bincount(idx.ravel(), weights=wr.imag.ravel(), minlength=size))
    shape = (nslot, npol, nant, nant)
    return sr.reshape(shape), sw.reshape(shape)


def hermitian(sum_wr: np.ndarray, sum_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Upper-triangle sums -> full Hermitian X = sum wR / sum w and symmetric W."""
    W = sum_w + np.swapaxes(sum_w, -1, -2)
    S = sum_wr + np.conj(np.swapaxes(sum_wr, -1, -2))
    X = np.where(W > 0, S / np.where(W > 0, W, 1), 0)
    return X, W


@dataclass
class Solution:
    gain: np.ndarray      # (sol, pol, ant) complex
    err: np.ndarray       # (sol, pol, ant) float
    snr: np.ndarray
    flag: np.ndarray      # bool
    refant: np.ndarray    # (sol,) antenna used as phase reference (-1: none)
    nbl: np.ndarray       # (sol, pol, ant) unflagged baselines per antenna
    solved: np.ndarray    # (sol, pol, ant) had enough baselines for a solution


def _valid_antennas(W: np.ndarray, minblperant: int) -> tuple[np.ndarray, np.ndarray]:
    """Iteratively drop antennas with fewer than minblperant baselines (to other valid ones)."""
    valid = np.ones(W.shape[:-1], bool)
    for _ in range(W.shape[-1]):
        Wv = W * valid[..., :, None] * valid[..., None, :]
        nbl = (Wv > 0).sum(axis=-1)
        new = valid & (nbl >= max(1, minblperant))
        if np.array_equal(new, valid):
            break
        valid = new
    return valid, nbl


def solve_gains(X: np.ndarray, W: np.ndarray, mode: str = "ap", refants: list[int] | None = None,
                minblperant: int = 4, minsnr: float = 0.0, maxiter: int = 200,
                tol: float = 1e-9, tie_pols: bool = False) -> Solution:
    """Solve per-antenna gains for all intervals and polarisations at once (see module doc).

    tie_pols: one gain for all polarisations ('T' gaintype), fitted to every polarisation's
    data; the returned arrays then have a polarisation axis of length 1.
    Errors follow CASA: sqrt(chi2_r / H), chi2_r = chi2 / (complex data - antennas) pooled
    over polarisations, H = sum_j W_ij |g_j|^2.
    """
    X = np.asarray(X, np.complex128)
    W = np.asarray(W, float)
    nsol, npol, nant, _ = X.shape
    if tie_pols:
        valid, nbl = _valid_antennas(W.sum(axis=1, keepdims=True), minblperant)
    else:
        valid, nbl = _valid_antennas(W, minblperant)
    W = W * valid[..., :, None] * valid[..., None, :]
    order = list(refants or []) + [a for a in range(nant) if a not in (refants or [])]
    red = (lambda a: a.sum(axis=1, keepdims=True)) if tie_pols else (lambda a: a)

    # start: amplitude from the mean |X|, phase from the reference antenna's baselines
    sw = red(W.sum(axis=(-1, -2)))
    amp0 = np.sqrt(np.where(sw > 0, red((W * np.abs(X)).sum(axis=(-1, -2))) / np.where(sw > 0, sw, 1), 1))
    ref = _pick_ref(valid, order)                                           # (sol,)
    xr = red((W * X)[np.arange(nsol), :, np.maximum(ref, 0), :])           # (sol, pol', ant)
    ph = np.where(np.abs(xr) > 0, np.conj(xr) / np.where(np.abs(xr) > 0, np.abs(xr), 1), 1)
    g = amp0[..., None] * ph * valid
    WX = W * X
    for it in range(maxiter):
        num = red(np.einsum("spij,spj->spi", WX, np.broadcast_to(g, X.shape[:3])))
        den = red(np.einsum("spij,spj->spi", W, np.broadcast_to(np.abs(g) ** 2, X.shape[:3])))
        g_new = np.where(den > 0, num / np.where(den > 0, den, 1), 0)
        if it % 2 == 1:
            g_new = 0.5 * (g_new + g)
        delta = np.abs(g_new - g).max() / max(np.abs(g_new).max(), 1e-30)
        g = g_new
        if delta < tol:
            break

    amp_solved = np.abs(g)   # CASA's SNR uses the amplitude of the unconstrained solution
    gb = np.broadcast_to(_constrain(g, mode), X.shape[:3])
    hess = red(np.einsum("spij,spj->spi", W, np.abs(gb) ** 2))
    rchi2 = _reduced_chi2(X, W, gb, valid)
    err = np.where(hess > 0, np.sqrt(rchi2[..., None] / np.where(hess > 0, hess, 1)), 0)
    snr = np.where(err > 0, amp_solved / np.where(err > 0, err, 1), 0)
    return finish(g, err, snr, valid & (hess > 0), nbl, mode, order, minsnr)


def _constrain(g: np.ndarray, mode: str) -> np.ndarray:
    """'p': unit amplitude; 'a': the amplitude; 'ap': unchanged."""
    if mode == "p":
        return np.where(np.abs(g) > 0, g / np.where(np.abs(g) > 0, np.abs(g), 1), 0)
    return np.abs(g).astype(complex) if mode == "a" else g


def finish(g: np.ndarray, err: np.ndarray, snr: np.ndarray, solved: np.ndarray, nbl: np.ndarray,
           mode: str, order: list[int], minsnr: float) -> Solution:
    """A solve's gains (sol, pol, ant) -> Solution: the mode's constraint, the phase of the first
    antenna of `order` solved in every polarisation set to 0 (not for 'a'), SNR > minsnr kept
    (CASA's rule), unsolved gains 1."""
    nsol = g.shape[0]
    g = _constrain(g, mode)
    ref = _pick_ref(solved & (np.abs(g) > 0), order)
    if mode != "a":
        gr = g[np.arange(nsol), :, np.maximum(ref, 0)]                      # (sol, pol)
        rot = np.where(np.abs(gr) > 0, np.conj(gr) / np.where(np.abs(gr) > 0, np.abs(gr), 1), 1)
        rot = np.where((ref >= 0)[:, None], rot, 1)
        g = g * rot[..., None]
    flag = ~solved | (snr <= minsnr)
    g = np.where(solved, g, 1 + 0j)
    return Solution(g, np.where(solved, err, 0), np.where(solved, snr, 0), flag, ref, nbl, solved)


def _reduced_chi2(X, W, g, valid) -> np.ndarray:
    """chi2 / (complex data - antennas) per interval, pooled over polarisations (i < j)."""
    iu = np.triu_indices(X.shape[-1], 1)
    model = g[..., :, None] * np.conj(g[..., None, :])
    r2 = (W * np.abs(X - model) ** 2)[..., iu[0], iu[1]]
    ndata = (W[..., iu[0], iu[1]] > 0).sum(axis=(-1, -2))
    npar = valid.sum(axis=(-1, -2))
    dof = ndata - npar
    return np.where(dof > 0, r2.sum(axis=(-1, -2)) / np.maximum(dof, 1), 1.0)[:, None]


def _pick_ref(valid: np.ndarray, order: list[int]) -> np.ndarray:
    """First antenna of `order` valid in every polarisation of each interval (else any pol)."""
    nsol = valid.shape[0]
    ok_all = valid.all(axis=1)[:, order]          # (sol, nant) in ranked order
    ok_any = valid.any(axis=1)[:, order]
    first = np.where(ok_all.any(axis=1), ok_all.argmax(axis=1),
                     np.where(ok_any.any(axis=1), ok_any.argmax(axis=1), -1))
    order = np.asarray(order)
    return np.where(first >= 0, order[np.maximum(first, 0)], -1).astype(int) if nsol else \
        np.zeros(0, int)


def casa_refant(gain: np.ndarray, flag: np.ndarray, spw: np.ndarray, order: list[int],
                strict: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CASA 6's re-referencing of gain solutions (SolvableVisJones::applyRefAnt), solutions in
    time order: per spw, the refant of a solution is the first of the choices [order[0], the
    refant used last, order[1:] ...] that is unflagged in every polarisation (with any
    unflagged solution in that spw) both in this solution and in the last referenced one
    (the first solution of a spw is its own 'last'). Its phase is carried over from the last
    solution (zero for the preferred refant; held constant for an alternate: 'flex'). When no
    choice connects the two, every antenna of the solution is flagged; `strict` (refantmode
    'strict') allows only order[0]. gain, flag: (sol, pol, ant); spw: (sol,). Returns the
    re-referenced gains, the flags and each solution's refant (-1 where all were flagged)."""
    gain, flag = gain.copy(), flag.copy()
    ref = np.full(len(gain), -1, int)
    for s in np.unique(spw):
        idx = np.flatnonzero(spw == s)
        pols = np.flatnonzero((~flag[idx]).any(axis=(0, 2)))
        choices = [order[0], order[0], *order[1:]][:1 if strict else None]
        last = None
        for i in idx:
            a = i if last is None else last
            ok = [c for c in choices if (~flag[a, pols, c]).all() and (~flag[i, pols, c]).all()]
            if not ok:
                flag[i] = True
                continue
            c = ok[0]
            if not strict:
                choices[1] = c
            rb = _unit(gain[i, :, c])
            if last is not None:
                rb = rb / _unit(gain[last, :, c])
            gain[i] = gain[i] / rb[:, None]
            ref[i], last = c, i
    return gain, flag, ref


def _unit(g: np.ndarray) -> np.ndarray:
    a = np.abs(g)
    return np.where(a > 1.1920929e-07, g / np.where(a > 0, a, 1), 1.0)
