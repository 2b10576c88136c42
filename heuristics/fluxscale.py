"""CASA's fluxscale arithmetic on arrays (no I/O). The conventions are CASA 6.7's (checked against its fluxscale).

gn = |CPARAM| in float32 (np.hypot on float32 parts reproduces CASA bit for bit); per (field,
spw, pol, antenna) the plain time mean MG; ratio = MG_transfer / MG_reference(refspw); the flux
density is median(ratios)^2 with N = number of ratios and error 2 std(ratios, ddof=1)/sqrt(N-1).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def gain_amplitudes(cparam: np.ndarray) -> np.ndarray:
    c = np.asarray(cparam, np.complex64)
    return np.hypot(c.real.astype(np.float32), c.imag.astype(np.float32))


def threshold_mask(gn: np.ndarray, ok: np.ndarray, field_id: np.ndarray, spw_id: np.ndarray,
                   t: float) -> np.ndarray:
    """gainthreshold: keep lo*median <= gn <= (1+t)*median per (field, spw); t < 0: all."""
    if t is None or t < 0:
        return ok
    keep = ok.copy()
    lo = 1 - t if 0 < t < 1 else 0.0
    for f in np.unique(field_id):
        for s in np.unique(spw_id):
            rows = (field_id == f) & (spw_id == s)
            sel = ok & rows[:, None]
            if not sel.any():
                continue
            med = np.median(gn[sel])
            keep &= ~rows[:, None] | ((gn >= lo * med) & (gn <= (1 + t) * med))
    return keep


def mean_gains(gn: np.ndarray, ok: np.ndarray, field_id, spw_id, antenna, nfield, nspw, nant):
    """Plain time mean of gn (row, pol) per (field, spw, pol, antenna): -> (MG, count)."""
    npol = gn.shape[-1]
    g, okp = gn, ok
    idx = ((field_id * nspw + spw_id) * npol)[:, None] + np.arange(npol)
    idx = idx * nant + antenna[:, None]
    size = nfield * nspw * npol * nant
    s = np.bincount(idx[okp], weights=g[okp].astype(np.float64), minlength=size)
    n = np.bincount(idx[okp], minlength=size)
    mg = np.where(n > 0, s / np.maximum(n, 1), 0.0)
    shape = (nfield, nspw, npol, nant)
    return mg.reshape(shape), n.reshape(shape)


def refspw_for(spw_ids: list[int], refspwmap: list[int] | None) -> dict[int, int]:
    """CASA refspwmap: [-1] each to itself; [k] all to k; a list: spw i -> map[i] if > -1."""
    m = list(refspwmap or [-1])
    if m == [-1]:
        return {s: s for s in spw_ids}
    if len(m) == 1:
        return {s: m[0] for s in spw_ids}
    return {s: (m[s] if s < len(m) and m[s] > -1 else s) for s in spw_ids}


def flux_from_ratios(ratios: np.ndarray) -> tuple[float, float, int, float]:
    """-> (fd, fderr, N, mgratio) from valid per-(pol, antenna) ratios."""
    n = len(ratios)
    if n == 0:
        return -1.0, -1.0, 0, 0.0
    mgr = float(np.median(ratios))
    err = 2 * float(np.std(ratios, ddof=1)) / np.sqrt(n - 1) if n > 1 else 0.0
    return mgr ** 2, err, n, mgr


@dataclass
class SpectralFit:
    flux: float
    flux_err: float
    reffreq: float
    spidx: list[float]
    spidx_err: list[float]
    covar: list[list[float]] = field(default_factory=list)
    order: int = 0
    note: str = ""          # why the order is lower than asked, when it is


def spectral_fit(freq: np.ndarray, fd: np.ndarray, fderr: np.ndarray, fitorder: int = 1) -> SpectralFit:
    """Weighted LSQ of log10 fd on x = log10 f - mean(log10 f), sigma = fderr/fd (as CASA).

    Spws with fd <= 0 or fderr <= 0 are left out; the order drops to (spws - 1) when there are
    too few; one usable spw gives fitFluxd = fd with zero errors.
    """
    freq, fd, fderr = (np.asarray(a, float) for a in (freq, fd, fderr))
    # non-finite or vanishing errors (< 1e-6 of the flux: a degenerate estimate) would own the fit
    use = (fd > 0) & np.isfinite(fd) & np.isfinite(fderr) & (fderr > 1e-6 * np.abs(fd))
    npoly = max(fitorder, 1) + 1
    if use.sum() < 2:
        good = fd > 0
        if not good.any():
            return SpectralFit(-1.0, 0.0, 0.0, [0.0] * npoly, [0.0] * npoly)
        k = int(np.flatnonzero(good)[0])
        return SpectralFit(float(fd[k]), 0.0, float(freq[k]), [0.0] * npoly, [0.0] * npoly)
    lf = np.log10(freq[use])
    x = lf - lf.mean()
    y = np.log10(fd[use])
    sig = fderr[use] / fd[use]
    distinct = len(np.unique(np.round(lf, 9)))
    npar = min(fitorder + 1, int(use.sum()), distinct)
    note = ""
    if npar < fitorder + 1:
        note = (f"fit order {npar - 1} instead of {fitorder}: {int(use.sum())} usable spws at "
                f"{distinct} distinct frequencies")
    A = np.vander(x, npar, increasing=True)
    w = 1 / sig ** 2
    N = A.T @ (A * w[:, None])
    cov = np.linalg.inv(N)
    coef = cov @ (A.T @ (w * y))
    chi2 = float(np.sum(w * (y - A @ coef) ** 2))
    scale = np.sqrt(max(0.0, chi2 / max(1, len(x) - npar)))
    errs = np.sqrt(np.diag(cov)) * scale
    flux = 10 ** coef[0]
    return SpectralFit(float(flux), float(np.log(10) * flux * errs[0]), float(10 ** lf.mean()),
                       [float(c) for c in coef], [float(e) for e in errs], cov.tolist(), npar - 1, note)


def fit_by_ic(freq: np.ndarray, fd: np.ndarray, fderr: np.ndarray, max_order: int = 3) -> SpectralFit:
    """The spectral fit whose order (0..min(max_order, spws - 1)) minimises AICc, with a note
    saying which and why; one usable spw or one distinct frequency gives order 0 with a reason."""
    freq, fd, fderr = (np.asarray(a, float) for a in (freq, fd, fderr))
    use = (fd > 0) & (fderr > 0)
    n = int(use.sum())
    distinct = len(np.unique(np.round(np.log10(freq[use]), 9))) if n else 0
    top = min(max_order, n - 1, distinct - 1)
    if top < 1:
        fit = spectral_fit(freq, fd, fderr, 0)
        fit.note = (f"order 0: {n} usable spws at {distinct} distinct frequencies, too few for a "
                    f"spectral index" if n else "no usable spw: no spectral fit")
        return fit
    best, scores = None, {}
    for k in range(0, top + 1):
        fit = spectral_fit(freq, fd, fderr, k)
        lf = np.log10(freq[use])
        x = lf - lf.mean()
        y, sig = np.log10(fd[use]), fderr[use] / fd[use]
        model = np.polyval(fit.spidx[::-1], x)
        chi2 = float(np.sum(((y - model) / sig) ** 2))
        p = k + 1
        scores[k] = chi2 + 2 * p + (2 * p * (p + 1) / (n - p - 1) if n - p - 1 > 0 else np.inf)
        if best is None or scores[k] < scores[best.order]:
            best = fit
    best.note = f"order {best.order} by AICc over 0..{top} ({', '.join(f'{k}: {v:.1f}' for k, v in scores.items())})"
    return best


def order_by_fractional_bandwidth(fmin_hz: float, fmax_hz: float, nspw: int) -> tuple[int, str]:
    """The VLA pipeline's (hifv_fluxboot) fit order from the fractional bandwidth
    (fmax - fmin) / centre of the spws: 1 below 0.3, 2 to 0.8, 3 to 1.6, 4 above; 0 when the
    span is under 257 MHz; never above spws - 1."""
    span = fmax_hz - fmin_hz
    fbw = span / (0.5 * (fmax_hz + fmin_hz))
    order = 0 if span < 257e6 else 4 if fbw > 1.6 else 3 if fbw >= 0.8 else 2 if fbw >= 0.3 else 1
    capped = min(order, max(nspw - 1, 0))
    note = (f"order {capped} from the fractional bandwidth {fbw:.3f} (span {span / 1e6:.0f} MHz; the VLA "
            f"pipeline's rule)" + (f", capped from {order} by {nspw} spws" if capped < order else ""))
    return capped, note


def fit_values(fit: SpectralFit, freq_hz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fitted spectrum at `freq_hz` and its error from the fit's covariance (scaled by the
    reduced chi-square but never below the fluxes' own errors; an exact fit keeps those)."""
    f = np.asarray(freq_hz, float)
    coef = np.asarray(fit.spidx[:fit.order + 1], float)
    if fit.reffreq <= 0 or not fit.covar:
        return np.full(len(f), fit.flux), np.full(len(f), fit.flux_err)
    x = np.log10(f) - np.log10(fit.reffreq)
    A = np.vander(x, len(coef), increasing=True)
    cov = np.asarray(fit.covar, float)[:len(coef), :len(coef)]
    nominal = np.sqrt(np.diag(cov))
    scale = max(1.0, float(np.max(np.asarray(fit.spidx_err[:len(coef)]) / np.where(nominal > 0, nominal, 1))))
    s = 10 ** (A @ coef)
    return s, np.log(10) * s * np.sqrt(np.einsum("ij,jk,ik->i", A, cov, A)) * scale
