"""Applying calibration tables on the fly (pre-apply): corrected = data / (g_i conj(g_j)).

Each applied table has: interp 'linear' (amplitude and phase interpolated separately, phase
along the shorter arc; nearest solution outside the solutions' time range) or 'nearest';
gainfield '' (solutions of all fields), 'nearest' (the field closest on the sky that has
solutions) or a field name/id list; spwmap (data spw i uses table spw spwmap[i]); calflag
(data whose antennas have no unflagged solution become flagged); calwt (weights scaled by
|g_i g_j|^2, as CASA's gaincal pre-applies; never for delays; a per-channel table on per-row
weights, i.e. no WEIGHT_SPECTRUM, scales the row weight by the channel mean of |g_i g_j|^2,
as CASA does).
Types, as CASA applies them: G per polarisation, T to both; B per channel (flagged channels
of a solution filled by linear interpolation of amplitude and phase across frequency);
K (delay, FPARAM in ns) as g = exp(2 pi i tau (nu - nu_ref)), nu_ref = the table spw's
CHAN_FREQ[n/2] (CASA >= 5.3), delays interpolated linearly in time; B TSYS (FPARAM in K)
as g = 1/sqrt(Tsys) per channel, so data are multiplied by sqrt(Tsys_i Tsys_j) and weights
divided by Tsys_i Tsys_j. All these terms are diagonal, so the order of application (CASA's:
Tsys, bandpass, gains, delays) does not change the result.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .caltable import CalTable, read_caltable
from .errors import CalTableError


@dataclass
class ApplySpec:
    table: CalTable
    gainfield: str = ""
    interp: str = "linear"
    spwmap: list[int] = field(default_factory=list)
    calflag: bool = True

    calwt: bool = True
    noise_bias: bool = False        # correct for the noise the solutions fitted (see `noise_factor`)
    flagged: str = "interpolate"    # flagged solutions: 'interpolate' over them or 'flag' (CASA; see `interpolate`)

    @classmethod
    def load(cls, path: str, gainfield: str = "", interp: str = "linear",
             spwmap: list[int] | None = None, calflag: bool = True, calwt: bool = True,
             noise_bias: bool = False, flagged: str = "interpolate") -> "ApplySpec":
        interp = interp or "linear"
        if interp.split(",")[0] not in ("linear", "nearest"):
            raise CalTableError(f"interp '{interp}' for {path} is not supported; use 'linear' "
                                f"or 'nearest'")
        ct = read_caltable(path)
        if ct.gaintype == "B":
            fill_flagged_channels(ct)
        elif ct.gaintype == "TSYS":
            ok = ct.fparam > 0
            ct.cparam = np.where(ok, 1 / np.sqrt(np.where(ok, ct.fparam, 1)), 1).astype(np.complex64)
            ct.flag = ct.flag | ~ok
        return cls(ct, gainfield or "", interp.split(",")[0], list(spwmap or []), calflag,
                   calwt and ct.gaintype != "K", noise_bias, flagged)


def fill_flagged_channels(ct: CalTable) -> None:
    """B solutions: flagged channels get amplitude and phase interpolated linearly across
    frequency from the solution's unflagged channels (nearest beyond the ends)."""
    nchan = ct.cparam.shape[1]
    if nchan < 2:
        return
    x = np.arange(nchan)
    for r, p in zip(*np.nonzero(ct.flag.any(axis=1) & ~ct.flag.all(axis=1))):
        good = ~ct.flag[r, :, p]
        g = ct.cparam[r, good, p]
        amp = np.interp(x, x[good], np.abs(g))
        ph = np.interp(x, x[good], np.unwrap(np.angle(g)))
        ct.cparam[r, :, p] = (amp * np.exp(1j * ph)).astype(np.complex64)
        ct.flag[r, :, p] = False


def _field_choice(spec: ApplySpec, field_id: int, field_dirs: np.ndarray | None) -> np.ndarray | None:
    ct = spec.table
    gf = spec.gainfield.strip()
    if gf == "":
        return None
    have = np.unique(ct.field_id)
    if gf == "nearest":
        if field_id in have or field_dirs is None:
            return np.array([field_id]) if field_id in have else None
        ra0, dec0 = field_dirs[field_id]
        ra, dec = field_dirs[have, 0], field_dirs[have, 1]
        sep = np.arccos(np.clip(np.sin(dec0) * np.sin(dec) + np.cos(dec0) * np.cos(dec) *
                                np.cos(ra - ra0), -1, 1))
        return have[[int(np.argmin(sep))]]
    ids = []
    for tok in gf.split(","):
        tok = tok.strip()
        if tok in ct.field_names:
            ids.append(ct.field_names.index(tok))
        elif tok.isdigit():
            ids.append(int(tok))
        else:
            raise CalTableError(f"gainfield '{tok}' is not a field of {ct.path}; fields: "
                                f"{', '.join(ct.field_names)}")
    return np.array(ids)


def interpolate(ct: CalTable, rows: np.ndarray, times: np.ndarray, nant: int,
                interp: str, real: bool = False, flagged: str = "interpolate") -> tuple[np.ndarray, np.ndarray]:
    """Gains at `times` from table rows `rows`: -> (g (time, ant, chan, pol), ok (same)).
    real: interpolate FPARAM values (delays) linearly instead of complex gains.
    flagged: 'interpolate' (between the nearest unflagged solutions before and after) or 'flag'
    (CASA's CTTimeInterp1: every solution counts, and the result is flagged when the solution
    at that time, or either of the two a linear interpolation uses, is flagged)."""
    tsol = np.unique(ct.time[rows])
    vals = ct.fparam if real else ct.cparam
    nchan, npol = vals.shape[1:]
    grid = np.ones((len(tsol), nant, nchan, npol), float if real else np.complex128)
    good = np.zeros(grid.shape, bool)
    ti = np.searchsorted(tsol, ct.time[rows])
    ant = ct.antenna1[rows]
    grid[ti, ant] = vals[rows]
    good[ti, ant] = ~ct.flag[rows]
    nt = len(tsol)
    pos = np.searchsorted(tsol, times)                       # solutions before: pos-1
    if flagged == "flag":
        near = np.clip(np.where(np.abs(tsol[np.clip(pos - 1, 0, nt - 1)] - times)       # ties: the earlier
                                <= np.abs(tsol[np.clip(pos, 0, nt - 1)] - times), pos - 1, pos), 0, nt - 1)
        exact = (np.abs(tsol[near] - times) < 1e-3) | (times < tsol[0]) | (times > tsol[-1]) | (nt == 1)
        p = np.where(exact | (interp == "nearest"), near, np.clip(pos - 1, 0, nt - 1))
        q = np.where(exact | (interp == "nearest"), near, np.clip(pos, 0, nt - 1))
        pi = np.broadcast_to(p[:, None, None, None], (len(times), *grid.shape[1:]))
        qi = np.broadcast_to(q[:, None, None, None], pi.shape)
        hasp = hasq = np.ones(pi.shape, bool)
        ok = np.take_along_axis(good, pi, axis=0) & np.take_along_axis(good, qi, axis=0)
    else:
        idx = np.arange(nt)[:, None, None, None]
        prev = np.maximum.accumulate(np.where(good, idx, -1), axis=0)
        nxt = np.minimum.accumulate(np.where(good, idx, nt)[::-1], axis=0)[::-1]
        p = prev[np.clip(pos - 1, 0, nt - 1)]
        p = np.where((pos - 1)[:, None, None, None] >= 0, p, -1)
        q = nxt[np.clip(pos, 0, nt - 1)]
        q = np.where((pos < nt)[:, None, None, None], q, nt)
        hasp, hasq = p >= 0, q < nt
        ok = hasp | hasq
        pi, qi = np.clip(p, 0, nt - 1), np.clip(q, 0, nt - 1)
    gp, gq = np.take_along_axis(grid, pi, axis=0), np.take_along_axis(grid, qi, axis=0)
    tp, tq = tsol[pi], tsol[qi]
    t = times[:, None, None, None]
    if interp == "nearest":
        use_q = hasq & (~hasp | (np.abs(tq - t) < np.abs(t - tp)))
        g = np.where(use_q, gq, gp)
    elif real:
        both = hasp & hasq & (tq > tp)
        f = np.where(both, (t - tp) / np.where(both, tq - tp, 1), 0.0)
        g = np.where(both, (1 - f) * gp + f * gq, np.where(hasp, gp, gq))
    else:
        both = hasp & hasq & (tq > tp)
        f = np.where(both, (t - tp) / np.where(both, tq - tp, 1), 0.0)
        amp = (1 - f) * np.abs(gp) + f * np.abs(gq)
        dph = np.angle(gq * np.conj(gp))
        ph = np.angle(gp) + f * dph
        g_lin = amp * np.exp(1j * ph)
        g = np.where(both, g_lin, np.where(hasp, gp, gq))
    return np.where(ok, g, 1.0), ok


def noise_factor(ct: CalTable, rows: np.ndarray, times: np.ndarray, nant: int, interp: str,
                 included: bool) -> np.ndarray:
    """Per antenna, sqrt(1 +- 1/SNR^2) of the solutions at `times`, so that dividing the data by
    g_i conj(g_j) also divides them by 1 +- (v_i + v_j)/2, v = 1/SNR^2. A phase solution that
    includes the data it corrects has fitted their noise: the corrected data come out
    (v_i + v_j)/2 too strong (+); one from other data (another spw, by spwmap) only decorrelates
    them, (v_i + v_j)/2 too weak (-). Both to first order in v (checked by simulation: within
    1e-3 at SNR 5, 1e-4 at SNR 10); flagged or SNR-less solutions get 1."""
    snr = ct.snr.astype(float)
    v = np.where(snr > 1, 1 / np.where(snr > 1, snr, 1) ** 2, 0.0)
    tmp = replace(ct, cparam=np.sqrt(1 + (1 if included else -1) * v).astype(np.complex128))
    f, _ = interpolate(tmp, rows, times, nant, interp)
    return f.real


class Applier:
    """Pre-apply a list of tables to chunks of one MS."""

    def __init__(self, specs: list[ApplySpec], nant: int, field_dirs: np.ndarray | None = None):
        self.specs = specs
        self.nant = nant
        self.field_dirs = field_dirs

    @classmethod
    def for_ms(cls, specs: list[ApplySpec], md) -> "Applier":
        """The Applier of `specs` for an MS (its antennas and field directions)."""
        return cls(specs, len(md.antennas), np.array([[f.ra, f.dec] for f in md.fields]))

    def gains_for(self, spec: ApplySpec, field_id: int, spw: int, times: np.ndarray):
        ct = spec.table
        spw_cal = spec.spwmap[spw] if spw < len(spec.spwmap) else spw
        rows = ct.spw_id == spw_cal
        fields = _field_choice(spec, field_id, self.field_dirs)
        if fields is not None:
            rows &= np.isin(ct.field_id, fields)
        rows = np.flatnonzero(rows)
        if rows.size == 0:
            raise CalTableError(f"{ct.path} has no solutions for spw {spw_cal}"
                                + (f" and field(s) {list(fields)}" if fields is not None else "")
                                + "; give a spwmap or gainfield that points at existing solutions")
        if ct.gaintype != "K":
            g, ok = interpolate(ct, rows, times, self.nant, spec.interp, flagged=spec.flagged)
            if spec.noise_bias:
                g = g * noise_factor(ct, rows, times, self.nant, spec.interp, included=spw_cal == spw)
            return g, ok
        tau, ok = interpolate(ct, rows, times, self.nant, spec.interp, real=True, flagged=spec.flagged)  # ns
        f = ct.spw_freq[spw_cal]
        return tau, ok, float(f[len(f) // 2])

    def apply(self, chunk, corr_pols: list[tuple[int, int]]) -> None:
        """Correct chunk.data in place; scale weights by |g_i g_j|^2 (calwt); flag where calflag."""
        if not self.specs:
            return
        ut, tidx = np.unique(chunk.time, return_inverse=True)
        p1 = np.array([a for a, _ in corr_pols])
        p2 = np.array([b for _, b in corr_pols])
        for spec in self.specs:
            got = self.gains_for(spec, chunk.field_id, chunk.spw_id, ut)  # (t, ant, chan, pol)
            if len(got) == 3:          # delays: the phase slope at the data's channel frequencies
                tau, ok, fref = got
                dnu = (np.asarray(chunk.chan_freq, float) - fref) / 1e9
                g = np.exp(2j * np.pi * tau[:, :, :1, :] * dnu[None, None, :, None])
                ok = np.broadcast_to(ok[:, :, :1, :], g.shape)
            else:
                g, ok = got
            if g.shape[3] == 1:
                q1 = q2 = np.zeros_like(p1)
            else:
                q1, q2 = p1, p2
            if g.shape[2] > 1 and len(got) == 2:
                g, ok = g[:, :, chunk.channels], ok[:, :, chunk.channels]
            gi = g[tidx, chunk.antenna1][..., q1]           # (row, chan, corr)
            gj = g[tidx, chunk.antenna2][..., q2]
            prod = gi * np.conj(gj)
            okk = ok[tidx, chunk.antenna1][..., q1] & ok[tidx, chunk.antenna2][..., q2]
            nz = np.abs(prod) > 0
            chunk.data = np.where(nz, chunk.data / np.where(nz, prod, 1), 0).astype(chunk.data.dtype)
            if spec.calwt:
                scale = np.abs(prod) ** 2
                if scale.shape[1] > 1 and chunk.weight.strides[1] == 0:
                    # per-row weights (no WEIGHT_SPECTRUM): scaled by the channel mean of the
                    # per-channel factor, which is what CASA's gaincal does (measured: per-channel
                    # scaling moves phase-up solutions by up to 9 sigma from CASA's, this < 2)
                    chunk.weight = np.broadcast_to((chunk.weight[:, :1, :] * scale.mean(axis=1, keepdims=True)
                                                    ).astype(chunk.weight.dtype), chunk.weight.shape)
                else:
                    chunk.weight = (chunk.weight * scale).astype(chunk.weight.dtype)
            bad = ~nz | (~okk if spec.calflag else False)
            chunk.flag = chunk.flag | np.broadcast_to(bad, chunk.flag.shape)
