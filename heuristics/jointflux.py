"""Flux transfer from all amplitude solutions of an EB at once ('joint' estimator).

Per spw, each unflagged amplitude solution (field f, antenna a, time t) with amplitude A and
SNR is modelled as

    ln A = c_a + sum_{k<=Kc} e_k P_k(tau) + sum_{k<=Ka} d_{a,k} P_k(tau) + x_f,   tau in [-1, 1]

c_a: the antenna's gain; the Legendre terms a smooth drift common to all antennas (weather,
elevation) and one of each antenna (pointing, focus); x_f = ln(S_f / 1 Jy) / 2 the field's flux
factor (0 for the reference fields, whose solutions were made against their model).
Weights are SNR^2 (the variance of ln A is 1/SNR^2). Solutions whose normalised residual exceeds
`reject` times the robust scatter (MAD) of the most flexible drift model are dropped, the
threshold lowered in steps so that a gross outlier goes before it can pull its antenna's other
solutions; every candidate drift model is then fitted to the same solutions.

Drift model: (Kc, Ka) among none, common linear or quadratic, per-antenna linear (with or without
a common quadratic) and per-antenna quadratic, by BIC = chi2 / s^2 + p ln n, where s^2 is the
noise level measured from the most flexible model's residuals (the solutions' nominal SNRs
misstate it by factors of 2-6, which would rescale every chi2 difference). A richer model must
lower BIC by more than STRONG_BIC (10: very strong evidence), else the simpler one is kept. Since
the drift is extrapolated to the reference's scans, it must also pass an edge check: per transfer
field with >= 3 solution times, the time nearest the reference is held out and predicted from the
rest; the drift must predict it better than constant gains. No drift is CASA's assumption, and
then the estimate is an SNR-weighted, outlier-rejecting version of CASA's. `JointFit.note` says
what was chosen and why.

Observations: a table whose solutions come from several observations (OBSERVATION_ID, e.g. EBs
concatenated into one MS) or fall into runs of times separated by more than SEGMENT_GAP_S (4 h:
another session or day), each with solutions of the reference, is fitted with each one's own
antenna gains and drift (tau spans each); the fields' fluxes are shared. Otherwise one run
(CASA's assumption: the same gains over the whole table).

The flux's statistical error is measured, as CASA's is, from the scatter of the per-antenna
estimates (each antenna's weighted mean residual about the joint model, residuals corrected for
their leverage): weighted standard deviation / sqrt(N_eff - 1), the reference's scatter added;
never below the fit's own covariance at the measured noise (which carries the drift's
extrapolation to the reference). Its temporal error comes from a jackknife over the solution
times: the spread of leave-one-time-out fluxes beyond the statistical error.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MODELS = [(0, 0), (1, 0), (2, 0), (0, 1), (2, 1), (0, 2)]   # (common order, per-antenna order)
STRONG_BIC = 10.0       # BIC drop that counts as very strong evidence (Kass & Raftery) for a richer drift
SEGMENT_GAP_S = 4 * 3600.0      # a gap between solution times this long separates observations


@dataclass
class JointFit:
    order: int                          # drift order chosen (the larger of common and per-antenna)
    bic: dict                           # (common, per-antenna) order -> BIC
    flux: dict[int, float]              # field -> Jy (transfer fields)
    stat_err: dict[int, float]          # field -> Jy
    temporal_err: dict[int, float] = field(default_factory=dict)
    n: dict[int, int] = field(default_factory=dict)          # solutions used per field
    rejected: int = 0
    chi2_red: float = 1.0
    ant_ratio: dict = field(default_factory=dict)   # (field, antenna) -> (flux estimate Jy, error Jy)
    model: tuple = (0, 0)                           # (common, per-antenna) drift orders chosen
    note: str = ""                                  # why this drift model


def segments(time: np.ndarray, is_ref: np.ndarray, obs: np.ndarray | None = None,
             gap_s: float = SEGMENT_GAP_S) -> np.ndarray:
    """Per row, its observation (0, 1, ...): its OBSERVATION_ID `obs` and its run of solution
    times separated by more than `gap_s`, when each has reference solutions; else all 0."""
    t = np.unique(time)
    run = np.searchsorted(t[1:][np.diff(t) > gap_s], time, side="right")
    keys, seg = np.unique(np.stack([np.zeros(len(time), int) if obs is None else obs, run]), axis=1,
                          return_inverse=True)
    seg = seg.ravel()
    if keys.shape[1] == 1 or not all(is_ref[seg == k].any() for k in range(keys.shape[1])):
        return np.zeros(len(time), int)
    return seg


def _design(field_idx, ant, tau, nant, nfield_free, model, seg):
    """Columns: per-antenna constant and drift terms, common drift terms (each per observation
    `seg`), field factors."""
    common, per_ant = model
    n, nseg = len(ant), int(seg.max()) + 1
    cols = []
    for k in range(per_ant + 1):
        pk = np.polynomial.legendre.legval(tau, [0] * k + [1])
        m = np.zeros((n, nant * nseg))
        m[np.arange(n), ant + nant * seg] = pk
        cols.append(m)
    for k in range(per_ant + 1, common + 1):
        m = np.zeros((n, nseg))
        m[np.arange(n), seg] = np.polynomial.legendre.legval(tau, [0] * k + [1])
        cols.append(m)
    f = np.zeros((n, nfield_free))
    ok = field_idx >= 0
    f[np.flatnonzero(ok), field_idx[ok]] = 1.0
    return np.hstack(cols + [f])


def _fit(y, w, A):
    """Weighted least squares through the normal equations (p x p, p = a few tens), whose
    pseudo-inverse is also the covariance; columns without data (antennas without solutions)
    are left out."""
    sw = np.sqrt(w)
    Aw, yw = A * sw[:, None], y * sw
    keep = np.abs(Aw).sum(axis=0) > 0
    coef = np.zeros(A.shape[1])
    cov = np.zeros((A.shape[1], A.shape[1]))
    Ak = Aw[:, keep]
    Ninv = np.linalg.pinv(Ak.T @ Ak)
    coef[keep] = Ninv @ (Ak.T @ yw)
    cov[np.ix_(keep, keep)] = Ninv
    r = y - A @ coef
    return coef, cov, r, int(keep.sum())


def joint_flux(amp: np.ndarray, snr: np.ndarray, field: np.ndarray, ant: np.ndarray, time: np.ndarray,
               reference: list[int], max_order: int = 2, reject: float = 4.0,
               obs: np.ndarray | None = None) -> JointFit | None:
    """Fluxes of the non-reference fields from amplitude solutions (see module doc); `obs`: each
    solution's OBSERVATION_ID (None: all one)."""
    ok = (amp > 0) & (snr > 0)
    amp, snr, field, ant, time = amp[ok], snr[ok], field[ok], ant[ok], time[ok]
    obs = None if obs is None else obs[ok]
    transfer = sorted(set(np.unique(field).tolist()) - set(reference))
    if not transfer or not np.isin(field, reference).any():
        return None
    fidx = np.array([transfer.index(f) if f in transfer else -1 for f in field])
    nant = int(ant.max()) + 1
    seg = segments(time, np.isin(field, reference), obs)
    tau = np.zeros(len(time))
    for k in np.unique(seg):
        t = time[seg == k]
        tau[seg == k] = 2 * (t - t.min()) / max(t.max() - t.min(), 1.0) - 1
    y, w = np.log(amp), snr ** 2
    use = np.ones(len(y), bool)
    fits, bic = {}, {}
    rt = np.round(time, 1)
    ntimes = min(len(np.unique(rt[seg == k])) for k in np.unique(seg))
    # a drift needs more solution times than its terms: common order k at least k + 3 times, and
    # per-antenna order k at least k + 3 times on the antenna with the fewest (with fewer, the
    # antenna's drift fits its few solutions exactly, the residuals vanish and the MAD with them)
    ant_seg = ant + nant * seg
    per_ant_times = min(len(np.unique(rt[ant_seg == a])) for a in np.unique(ant_seg))
    models = [m for m in MODELS if max(m) <= max_order and (m[0] == 0 or ntimes >= m[0] + 3)
              and (m[1] == 0 or per_ant_times >= m[1] + 3)]
    # outliers are found once, with the most flexible model, so that every candidate model is
    # judged on the same solutions (a rigid model must not win by rejecting what it misfits)
    A = _design(fidx, ant, tau, nant, len(transfer), models[-1], seg)
    u = use.copy()
    steps = [t for t in (64.0, 32.0, 16.0, 8.0) if t > reject] + [reject] * 4
    n_field = {f: int((field == f).sum()) for f in np.unique(field)}
    stop = ""
    for thr in steps:
        coef, cov, r, npar = _fit(y[u], w[u], A[u])
        # residuals corrected for leverage; rows the fit reproduces by construction (h ~ 1: an
        # antenna's only solution of a field) carry no information on the scatter
        h = np.clip(w * np.einsum("ij,jk,ik->i", A, cov, A), 0, 1)
        res = (y - A @ coef) * np.sqrt(w) / np.sqrt(np.clip(1 - h, 0.05, 1))
        inf = u & (h < 0.95)
        if inf.sum() < 3:
            stop = "too few solutions to measure their scatter: no outlier rejection"
            break
        mad = _field_mad(res, inf, field)
        new = (np.abs(res) <= thr * np.maximum(mad, 1e-9)) | (h >= 0.95)
        # never reject more than a fifth of the solutions, nor half of any field's: scatter that
        # large is the data's (systematics), not outliers
        if new.sum() < 0.8 * len(y) or any((new & (field == f)).sum() < 0.5 * n for f, n in n_field.items()):
            stop = (f"outlier rejection stopped at {thr:g} sigma: it would remove more than a fifth of "
                    f"the solutions or half of a field's (scatter above the nominal SNRs)")
            break
        if np.array_equal(new, u) and thr == reject:
            break
        u = new
    for order in models:
        A = _design(fidx, ant, tau, nant, len(transfer), order, seg)
        coef, cov, r, npar = _fit(y[u], w[u], A[u])
        chi2 = float(np.sum(w[u] * r ** 2))
        fits[order] = (coef, cov, u, chi2, npar, A)
    # BIC with the noise level measured from the most flexible model's residuals (the solutions'
    # nominal SNRs misstate it by up to x5 either way, which would rescale every chi2 difference)
    flex = fits[models[-1]]
    dof_flex = int(u.sum()) - flex[4]
    s2 = flex[3] / dof_flex if dof_flex > 0 and flex[3] > 0 else 1.0    # nothing left to measure: nominal
    for order in models:
        bic[order] = fits[order][3] / s2 + fits[order][4] * np.log(u.sum())
    best = models[0]
    for m in sorted(models, key=lambda m: fits[m][4]):
        if bic[m] < bic[best] - STRONG_BIC:
            best = m
    drop = bic[models[0]] - bic[best]
    if best == models[0]:
        note = f"constant gains: no drift model lowers BIC by more than {STRONG_BIC:g}" if len(models) > 1 else ""
    else:
        # the drift is extrapolated to the reference's scans: it is modelled only if it also
        # predicts the held-out solutions of a field nearest the reference better than constant gains
        gain = _edge_check(y, w, u, fidx, ant, tau, nant, len(transfer), field, time, reference, best, seg)
        if gain is None:
            # no field has three solution times: the extrapolation cannot be checked, and a field
            # seen once is fitted exactly by the drift it pulls (its scatter absorbed, its error lost)
            note = (f"drift {best} preferred by BIC (lower by {drop:.0f}) but no transfer field has three "
                    f"solution times to check its extrapolation: constant gains kept")
            best = models[0]
        elif gain <= 0:
            note = (f"drift {best} preferred by BIC (lower by {drop:.0f}) but it does not predict the "
                    f"solutions nearest the reference: constant gains kept")
            best = models[0]
        else:
            note = (f"drift {best}: BIC lower by {drop:.0f}; predicts the held-out solutions nearest the "
                    f"reference {gain:.0%} better")
    out = _result(fits[best], best, bic, y, w, field, ant, time, reference, transfer)
    nseg = int(seg.max()) + 1
    runs = (f"{nseg} observations (OBSERVATION_IDs or solution times more than {SEGMENT_GAP_S / 3600:g} h "
            f"apart), each with its own gains and drift" if nseg > 1 else "")
    out.note = "; ".join(x for x in (note, stop, runs) if x)
    return out


def _field_mad(res: np.ndarray, inf: np.ndarray, field: np.ndarray, min_rows: int = 8) -> np.ndarray:
    """Per row, the robust scatter (1.4826 MAD) of its field's normalised residuals; a field
    with fewer than `min_rows` informative rows takes that of all. Per field, because the
    nominal SNRs misstate the noise by a factor that depends on the SNR (a bright field's
    scatter is its systematics, a faint one's its noise): one scatter for all would call a
    faint field's ordinary residuals outliers (measured: 21 of a 0.04 Jy field's 50 solutions
    rejected, its flux 1.6 % off)."""
    def mad(x):
        return 1.4826 * np.median(np.abs(x - np.median(x)))
    out = np.full(len(res), mad(res[inf]))
    for f in np.unique(field):
        m = inf & (field == f)
        if m.sum() >= min_rows:
            out[field == f] = mad(res[m])
    return out


def _edge_check(y, w, u, fidx, ant, tau, nant, nfree, field, time, reference, model, seg) -> float | None:
    """Relative gain in prediction error (1 - chi2_drift / chi2_const) on held-out solutions: per
    transfer field with at least three solution times, its time nearest the reference's scans is
    left out and predicted from the rest. None when no field has three times."""
    rt = np.round(time, 1)
    tref = np.unique(rt[np.isin(field, reference)])
    err = {model: 0.0, (0, 0): 0.0}
    used = False
    for j in range(nfree):
        times = np.unique(rt[u & (fidx == j)])
        if len(times) < 3:
            continue
        edge = times[np.argmin(np.abs(times[:, None] - tref[None, :]).min(axis=1))]
        held = u & (fidx == j) & (rt == edge)
        train = u & ~held
        for m in err:
            A = _design(fidx, ant, tau, nant, nfree, m, seg)
            coef, _, _, _ = _fit(y[train], w[train], A[train])
            known = np.abs(A[train]).sum(axis=0) > 0          # antennas without training data
            ok = held & (np.abs(A[:, ~known]).sum(axis=1) == 0)
            err[m] += float(np.sum(w[ok] * (y[ok] - A[ok] @ coef) ** 2))
        used = True
    if not used or err[(0, 0)] <= 0:
        return None
    return 1 - err[model] / err[(0, 0)]


def _result(fit, order, bic, y, w, field, ant, time, reference, transfer) -> JointFit:
    """Fluxes, per-antenna ratios and the error terms of one fitted drift model."""
    coef, cov, u, chi2, npar, A = fit
    dof = max(int(u.sum()) - npar, 1)
    out = JointFit(max(order), {str(k): v for k, v in bic.items()}, {}, {}, rejected=int((~u).sum()),
                   chi2_red=chi2 / dof)
    out.model = order
    base = A.shape[1] - len(transfer)
    # residuals corrected for leverage, r / sqrt(1 - h): where the drift terms bend to a field's
    # few solutions, its residuals shrink and their scatter would understate the error
    full = A @ coef
    h = w * np.einsum("ij,jk,ik->i", A, cov, A)
    resid = (y - full) / np.sqrt(np.clip(1 - h, 0.05, 1))
    ref_var = _scatter(resid, w, u, np.isin(field, reference), ant)       # the reference's own
    noise = _field_mad(resid * np.sqrt(w), u & (h < 0.95), field)
    for j, f in enumerate(transfer):
        if cov[base + j, base + j] <= 0 or not (u & (field == f)).any():
            continue                      # no solution of the field left: no flux (not an arbitrary one)
        s = float(np.exp(2 * coef[base + j]))
        out.flux[f] = s
        out.n[f] = int((u & (field == f)).sum())
        for a in np.unique(ant[field == f]):         # per antenna: the flux it alone gives
            m = u & (field == f) & (ant == a)
            if m.any():
                ra = float(np.sum(w[m] * (y[m] - full[m])) / np.sum(w[m]))
                e = 1 / np.sqrt(float(np.sum(w[m])))
                out.ant_ratio[(f, int(a))] = (s * float(np.exp(2 * ra)), 2 * s * float(np.exp(2 * ra)) * e)
        var = _scatter(resid, w, u, field == f, ant)
        # the fit's, at the field's own measured noise (the nominal SNRs misstate it by a factor
        # that depends on the SNR; fewer than 8 solutions: the global measure); with fewer than
        # 10 degrees of freedom that measure is unreliable (an over-fitted model has
        # chi2_red << 1): never below the nominal SNRs' then
        scale = noise[u & (field == f)][0] ** 2 if (u & (field == f)).any() else out.chi2_red
        fitvar = cov[base + j, base + j] * (scale if dof >= 10 else max(scale, 1.0))
        if var is not None:     # the field's and the reference's scatter, as in CASA's ratios
            var = max(var + (ref_var or 0.0), fitvar)
            out.stat_err[f] = float(2 * s * np.sqrt(var))
        else:
            out.stat_err[f] = float(2 * s * np.sqrt(fitvar))
    out.temporal_err = _jackknife(y, w, A, u, time, base, transfer, out)
    return out


def _scatter(resid, w, u, rows, ant) -> float | None:
    """Variance of the weighted mean of the per-antenna mean residuals of `rows` (ln A):
    weighted variance / (N_eff - 1); None with fewer than two antennas."""
    r, wa = [], []
    for a in np.unique(ant[rows]):
        m = u & rows & (ant == a)
        if m.any():
            r.append(np.sum(w[m] * resid[m]) / np.sum(w[m]))
            wa.append(np.sum(w[m]))
    if len(r) < 2:
        return None
    r, wa = np.array(r), np.array(wa)
    mean = np.sum(wa * r) / np.sum(wa)
    var = np.sum(wa * (r - mean) ** 2) / np.sum(wa)
    neff = np.sum(wa) ** 2 / np.sum(wa ** 2)
    return float(var / max(neff - 1, 1))


def _jackknife(y, w, A, u, time, base, transfer, out) -> dict[int, float]:
    """Leave one solution time out at a time; the spread beyond the statistical error. A time
    holding all of a field's solutions (or all the reference's) gives that field no estimate."""
    rt = np.round(time, 1)
    times = np.unique(rt)
    ref_rows = (A[:, base:] == 0).all(axis=1)
    est = np.full((len(times), len(transfer)), np.nan)
    for i, t in enumerate(times):
        m = u & (rt != t)
        if not (m & ref_rows).any():
            continue
        coef, _, _, _ = _fit(y[m], w[m], A[m])
        for j in range(len(transfer)):
            if (m & (A[:, base + j] != 0)).any():
                est[i, j] = np.exp(2 * coef[base + j])
    out_err = {}
    for j, f in enumerate(transfer):
        if f not in out.stat_err:
            continue
        e = est[:, j][np.isfinite(est[:, j])]
        k = len(e)
        if k < 3:
            out_err[f] = 0.0
            continue
        var = (k - 1) / k * np.sum((e - e.mean()) ** 2)
        out_err[f] = float(np.sqrt(max(var - out.stat_err[f] ** 2, 0.0)))
    return out_err
