"""CASA 6's gain solver (VisCalSolver2 with GJones/TJones guesses), vectorised over intervals.

`solve.solve_gains` iterates every interval to its least-squares solution. CASA stops earlier,
and at low SNR where it stops decides the SNR it writes and so which solutions `minsnr` flags.
This module follows CASA's steps, each interval with its own state, all intervals in lockstep:

- guess (GJones/TJones::guessPar): the guess antenna is the first refant if it has a baseline
  with every used correlation unflagged, else the first antenna that has one; antenna j starts
  at X[j, g] (T: the mean unit phasor over the polarisations) over sqrt(mean |X[j, g]|), the guess
  antenna and antennas without a guess at sqrt(mean |X[j, g]|). TJones skips the interval's
  first MS row: without autocorrelations taken as its lowest baseline with data (a wholly
  flagged first row would make this skip the next one; CASA skips nothing then).
- constraints (verifyConstraints): antennas with fewer than minblperant baselines of positive
  weight in any polarisation are dropped, repeatedly; their data and parameters are removed.
- iterations: chi2 = sum over baselines i<j and polarisations of W |g_i conj(g_j) - X_ij|^2;
  the step is -grad/hess/2 per parameter (diagonal Hessian, CASA's fixed lmfact 2), scaled by
  a line search (optStepSize2: doubled while chi2 falls, else halved until below the start, then
  the parabola through the last three points); a step that raised chi2 is undone and retried
  from the stale gradient. Converged after six iterations in which chi2 rose by at most 0.1 %
  or fell, each changing it by less than 10 % (a larger rise restarts the count, a smaller one
  lowers it); no solution after 51 iterations or with chi2 = 0.
- errors (getErrors): sqrt(2 k2 / hess), k2 = chi2 / max(2 (n_data - n_par_ok), 1); SNR =
  |g| / error of the unnormalised solution; kept when SNR > minsnr.
"""
from __future__ import annotations

import numpy as np

from .solve import Solution, _valid_antennas, finish

MAXITER = 50


def guess(X: np.ndarray, W: np.ndarray, refant: int, tie_pols: bool, first_row_cross: bool = True) -> np.ndarray:
    """CASA's first guess, (sol, pol or 1, ant) complex. first_row_cross: the interval's first MS
    row is its lowest baseline with data (not an autocorrelation), which TJones leaves out."""
    nsol, npol, nant, _ = X.shape
    ok = (W > 0).all(axis=1)                                     # (sol, i, j) every pol unflagged
    has = ok.any(axis=-1)                                        # (sol, ant)
    first = np.where(has.any(axis=1), has.argmax(axis=1), 0)
    g_ant = np.where(has[:, refant], refant, first) if 0 <= refant < nant else first
    s = np.arange(nsol)
    xg = X[s, :, :, g_ant]                                       # (sol, pol, j): X[j, g]
    rowok = ok[s, :, g_ant]
    if tie_pols and first_row_cross:        # TJones::guessPar starts at the interval's second row
        first = np.triu(W.sum(axis=1) > 0, 1).reshape(nsol, -1).argmax(axis=1)
        i0, j0 = np.divmod(first, nant)
        rowok[s, np.where(i0 == g_ant, j0, i0)] &= (i0 != g_ant) & (j0 != g_ant)
    use = rowok[:, None, :] & (np.abs(xg) > 0)
    amp = np.where(use, np.abs(xg), 0)
    namp = use.sum(axis=(1, 2))
    ampave = np.sqrt(np.where(namp > 0, amp.sum(axis=(1, 2)) / np.maximum(namp, 1), 1))[:, None, None]
    if tie_pols:
        unit = np.where(use, xg / np.where(use, amp, 1), 0)
        par = unit.sum(axis=1, keepdims=True) / npol / ampave
    else:
        par = np.where(use, xg, 0) / ampave
    par[s, :, g_ant] = ampave[:, :, 0]
    par = np.where(np.abs(par) == 0, ampave, par)
    return np.where((namp > 0)[:, None, None], par, 0.3 + 0j)


class _Problem:
    """chi2, gradient and Hessian diagonal of a set of intervals (X, W: (sol, pol, ant, ant))."""

    def __init__(self, X: np.ndarray, W: np.ndarray, tie_pols: bool):
        self.X, self.W, self.tie = X, W, tie_pols
        self.npol = X.shape[1]

    def _full(self, g: np.ndarray) -> np.ndarray:
        return np.broadcast_to(g, (g.shape[0], self.npol, g.shape[2])) if self.tie else g

    def _red(self, a: np.ndarray) -> np.ndarray:
        return a.sum(axis=1, keepdims=True) if self.tie else a

    def chi2(self, g: np.ndarray, idx: np.ndarray) -> np.ndarray:
        gf = self._full(g)
        r = gf[..., :, None] * np.conj(gf[..., None, :]) - self.X[idx]
        return 0.5 * (self.W[idx] * (r.real ** 2 + r.imag ** 2)).sum(axis=(1, 2, 3))

    def grad_hess(self, g: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gf = self._full(g)
        W = self.W[idx]
        hess = np.einsum("spij,spj->spi", W, np.abs(gf) ** 2)
        grad = gf * hess - np.einsum("spij,spj->spi", W * self.X[idx], gf)
        return self._red(grad), self._red(hess)


def _line_search(prob: _Problem, idx, x0, base, d) -> np.ndarray:
    """optStepSize2: the factor the step d of each interval is scaled by (0: unchanged)."""
    n = len(idx)
    step = np.ones(n)
    x1 = prob.chi2(base + d, idx)
    x2 = np.empty(n)
    up = x1 < x0
    if up.any():
        u = np.flatnonzero(up)
        x2[u] = prob.chi2(base[u] + 2 * d[u], idx[u])
        for _ in range(200):
            m = np.flatnonzero(up & (x2 < x1))
            if not len(m):
                break
            step[m] *= 2
            x1[m] = x2[m]
            x2[m] = prob.chi2(base[m] + 2 * step[m, None, None] * d[m], idx[m])
    dn = np.flatnonzero(~up)
    if len(dn):
        step[dn] = 0.5
        x2[dn] = x1[dn]
        x1[dn] = prob.chi2(base[dn] + 0.5 * d[dn], idx[dn])
        for _ in range(200):
            m = dn[x1[dn] > x0[dn]]
            if not len(m):
                break
            step[m] *= 0.5
            x2[m] = x1[m]
            x1[m] = prob.chi2(base[m] + step[m, None, None] * d[m], idx[m])
    optd = x0 - 2 * x1 + x2
    return np.where(np.abs(optd) > 0, step * (1.5 - (x2 - x1) / np.where(optd != 0, optd, 1)), 0.0)


def solve_gains_casa(X: np.ndarray, W: np.ndarray, mode: str = "ap", refants: list[int] | None = None,
                     minblperant: int = 4, minsnr: float = 0.0, tie_pols: bool = False,
                     first_row_cross: bool = True) -> Solution:
    """solve.solve_gains's interface and output, by CASA's iterations (see module doc)."""
    X = np.asarray(X, np.complex128)
    W = np.asarray(W, float)
    nsol, npol, nant, _ = X.shape
    npar = 1 if tie_pols else npol
    valid, nbl = _valid_antennas(W.sum(axis=1, keepdims=True), minblperant)
    order = list(refants or []) + [a for a in range(nant) if a not in (refants or [])]
    par = guess(X, W, order[0] if order else -1, tie_pols, first_row_cross)
    W = W * valid[..., :, None] * valid[..., None, :]
    ok = np.broadcast_to(valid, (nsol, npar, nant)).copy()
    par = np.where(ok, par, 1 + 0j)
    prob = _Problem(X, W, tie_pols)
    iu = np.triu_indices(nant, 1)
    nwt = (W[..., iu[0], iu[1]] > 0).sum(axis=(1, 2))
    chi = np.zeros(nsol)
    last_chi = np.full(nsol, np.inf)
    last_par, dpar = par.copy(), np.zeros_like(par)
    grad, hess = np.zeros_like(par), np.zeros(par.shape)
    cvrg = np.zeros(nsol, int)
    good = np.zeros(nsol, bool)
    active = np.flatnonzero(ok.any(axis=(1, 2)))
    for _ in range(MAXITER + 1):
        if not len(active):
            break
        a = active
        chi[a] = prob.chi2(par[a], a)
        zero = chi[a] == 0
        d = chi[a] - last_chi[a]
        with np.errstate(invalid="ignore", divide="ignore"):
            f = (d / chi[a]).astype(np.float32)
        small = np.abs(d) < 0.1 * chi[a]
        down = f <= np.float32(0.001)
        cvrg[a] = np.where(down, cvrg[a] + small, np.where(small, np.maximum(cvrg[a] - 1, 0), 0))
        conv = down & (cvrg[a] > 5) & ~zero
        good[a[conv]] = True
        keep = ~conv & ~zero
        a, d = a[keep], d[keep]
        better = d <= 0
        b = a[better]
        last_chi[b] = chi[b]
        grad[b], hess[b] = prob.grad_hess(par[b], b)
        w = a[~better]
        par[w] = last_par[w]
        ok[a] &= hess[a] != 0
        dpar[a] = np.where(ok[a], -grad[a] / np.where(ok[a], hess[a], 1) / 2, 0)
        last_par[a] = par[a]
        fac = _line_search(prob, a, chi[a], last_par[a], dpar[a])
        dpar[a] *= np.where(fac > 0, fac, 1)[:, None, None]
        par[a] = last_par[a] + np.where(ok[a], dpar[a], 0)
        active = a
    ok &= good[:, None, None]
    gs = np.flatnonzero(good)
    _, hess[gs] = prob.grad_hess(par[gs], gs)
    nok = ok.sum(axis=(1, 2))
    k2 = chi / np.maximum(2 * (nwt - nok), 1)
    hp = hess > 0
    err = np.where(hp & ok, np.sqrt(2 * k2[:, None, None] / np.where(hp, hess, 1)), 0)
    snr = np.where(ok, np.where(err > 0, np.abs(par) / np.where(err > 0, err, 1), 9999999.0), 0)
    return finish(par, err, snr, ok, np.broadcast_to(nbl, ok.shape), mode, order, minsnr)
