"""Gain solutions from the cube: gaincal's interval logic on channel-averaged blocks.

Solution intervals: 'int' (each integration), seconds (bins from the start of each scan, or of
the field's first scan with combine='scan'), 'inf' (one per scan, or one per field and spw with
combine='scan'). Intervals are accumulated per baseline (heuristics.solve.baseline_average) and
solved together per (field, spw, scan) group, as CASA's gaincal does. Tables in `pre` (G/T,
channel-independent) are applied to each block first; `antennas` restricts a field to the
baselines between the listed antennas (the resolved reference's short-baseline subset).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .calapply import Applier, ApplySpec
from .caltable import CalTable
from .cube import Block, Cube
from .heuristics.casasolve import solve_gains_casa
from .heuristics.solve import apply_mode, baseline_average, casa_refant, hermitian, solve_gains
from .ms.metadata import MSMetadata

T_OFFSET = 4e9   # MJD seconds subtracted before weighted time sums, to keep their precision


@dataclass
class BlockView:
    """A cube block seen as a one-channel chunk (row, 1, pol), so tables apply to it."""
    field_id: int
    spw_id: int
    time: np.ndarray
    antenna1: np.ndarray
    antenna2: np.ndarray
    data: np.ndarray
    weight: np.ndarray
    flag: np.ndarray
    channels: np.ndarray = field(default_factory=lambda: np.zeros(1, int))

    @classmethod
    def of(cls, b: Block, raw: bool = False) -> "BlockView":
        v, w = b.raw() if raw else (b.vis, b.weight)
        return cls(b.field_id, b.spw_id, b.time, b.antenna1, b.antenna2, v[:, None, :].copy(),
                   w[:, None, :].copy(), (w <= 0)[:, None, :])

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(vis, weight) as (row, pol), weight 0 where flagged."""
        return self.data[:, 0, :], np.where(self.flag[:, 0, :], 0.0, self.weight[:, 0, :])


PARALLEL = [(0, 0), (1, 1)]


def applied(b: Block, applier: Applier | None, raw: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A block's (vis, weight) per polarisation with the applier's tables applied."""
    v = BlockView.of(b, raw)
    if applier is not None and applier.specs:
        applier.apply(v, PARALLEL)
    return v.arrays()


@dataclass
class _Pending:
    sum_wr: dict = field(default_factory=dict)   # slot key -> (npol, nant, nant)
    sum_w: dict = field(default_factory=dict)
    sum_wt: dict = field(default_factory=dict)   # weighted time
    sum_ww: dict = field(default_factory=dict)
    t_mean: dict = field(default_factory=dict)   # plain mean time, used when all weights are 0
    scan: dict = field(default_factory=dict)
    first_row_cross: bool = True                 # an interval's first MS row is its lowest baseline


@dataclass
class SolveSpec:
    solint: float | str = "inf"    # 'int', 'inf' or seconds
    combine_scan: bool = False
    gaintype: str = "G"
    calmode: str = "ap"
    minblperant: int = 4
    minsnr: float = 3.0
    combine_spw: bool = False      # one solution over all spws (labelled with the lowest)
    refantmode: str = "flex"       # CASA's re-referencing ('flex', 'strict'; heuristics.solve.casa_refant)
    debias: bool = False           # calmode 'a': |g| of a complex solve, less its noise bias
    solver: str = "converged"      # or 'casa': CASA's iterations (heuristics.casasolve)

    def key(self, b: Block) -> tuple:
        """The block's solution group: (field, spw or -1, scan or -1)."""
        return (b.field_id, -1 if self.combine_spw else b.spw_id, -1 if self.combine_scan else b.scan)


def solve_cube(cube: Cube, md: MSMetadata, spec: SolveSpec, refants: list[int],
               fields: list[int] | None = None, pre: list[ApplySpec] | None = None,
               antennas: dict[int, list[int]] | None = None,
               minblperant: dict[int, int] | None = None) -> CalTable:
    """Solve gains for the cube's blocks of `fields` (all when None); see module doc."""
    rows = solve_rows(cube, md, spec, refants, fields, pre, antennas, minblperant)
    return to_caltable(rows, spec.gaintype, md, len(md.antennas),
                       refants if spec.refantmode in ("flex", "strict") else None,
                       spec.refantmode == "strict", phase_only=spec.calmode in ("p", "a"))


def solve_rows(cube: Cube, md: MSMetadata, spec: SolveSpec, refants: list[int],
               fields: list[int] | None = None, pre: list[ApplySpec] | None = None,
               antennas: dict[int, list[int]] | None = None,
               minblperant: dict[int, int] | None = None) -> list[dict]:
    """The solutions as records {time, field, spw, scan, ref, gain, err, snr, flag} (arrays
    (pol, ant)), before re-referencing (solve_cube makes the table)."""
    nant = len(md.antennas)
    applier = Applier.for_ms(pre or [], md)
    scan_start = {s.number: s.start for s in md.scans}
    field_start: dict[int, float] = {}
    for s in md.scans:
        for f in s.field_ids:
            field_start[f] = min(field_start.get(f, np.inf), s.start)
    pend, out_rows, group = _Pending(first_row_cross=not cube.index.autocorrelations), [], None
    label: dict[int, int] = {}          # field -> the lowest spw of a combined solution
    for b in cube.blocks(fields=fields):
        key = spec.key(b)
        if group is not None and key != group and not (spec.combine_scan or spec.combine_spw):
            _flush(pend, out_rows, spec, refants, minblperant)
        group = key
        label[b.field_id] = min(label.get(b.field_id, b.spw_id), b.spw_id)
        if antennas and antennas.get(b.field_id):
            keep = np.isin(b.antenna1, antennas[b.field_id]) & np.isin(b.antenna2, antennas[b.field_id])
            b = b.select(keep)
        vis, w = applied(b, applier)
        if spec.solint == "int":
            bins = np.round(b.time, 3)
        elif spec.solint == "inf":
            bins = np.zeros_like(b.time)
        else:
            t0 = field_start[b.field_id] if spec.combine_scan else scan_start[b.scan]
            bins = np.floor((b.time - t0) / spec.solint + 1e-6)
        ub, slot = np.unique(bins, return_inverse=True)
        swr, sw = baseline_average(slot, b.antenna1, b.antenna2, vis[:, None, :], w[:, None, :],
                                   len(ub), nant)
        rw = w.sum(axis=1)
        st = np.bincount(slot, weights=rw * (b.time - T_OFFSET), minlength=len(ub))
        sws = np.bincount(slot, weights=rw, minlength=len(ub))
        for k, u in enumerate(ub):
            sk = (*key, float(u))
            if sk in pend.sum_wr:
                pend.sum_wr[sk] += swr[k]
                pend.sum_w[sk] += sw[k]
                pend.sum_wt[sk] += st[k]
                pend.sum_ww[sk] += sws[k]
            else:
                pend.sum_wr[sk], pend.sum_w[sk] = swr[k], sw[k]
                pend.sum_wt[sk], pend.sum_ww[sk] = st[k], sws[k]
                pend.scan[sk] = b.scan
                pend.t_mean[sk] = float(b.time[slot == k].mean())
    _flush(pend, out_rows, spec, refants, minblperant)
    for r in out_rows if spec.combine_spw else ():
        r["spw"] = label[r["field"]]
    return out_rows


def _flush(pend: _Pending, out_rows: list, spec: SolveSpec, refs: list[int],
           minblperant: dict[int, int] | None = None) -> None:
    """Solve the pending intervals; a field in `minblperant` (field -> value) uses its own."""
    by_mbl: dict[int, list] = {}
    for k in pend.sum_wr:
        by_mbl.setdefault((minblperant or {}).get(k[0], spec.minblperant), []).append(k)
    for mbl, keys in by_mbl.items():
        _solve_keys(pend, keys, out_rows, spec, refs, mbl)
    pend.__init__(first_row_cross=pend.first_row_cross)


def _solve_keys(pend: _Pending, keys: list, out_rows: list, spec: SolveSpec, refs: list[int], mbl: int) -> None:
    swr = np.stack([pend.sum_wr[k] for k in keys])
    sw = np.stack([pend.sum_w[k] for k in keys])
    debias = spec.debias and spec.calmode == "a"
    mode = "ap" if debias else spec.calmode
    X, W = apply_mode(*hermitian(swr, sw), mode)
    if spec.solver == "casa":
        sol = solve_gains_casa(X, W, mode, refs, mbl, spec.minsnr, tie_pols=spec.gaintype == "T",
                               first_row_cross=pend.first_row_cross)
    else:
        sol = solve_gains(X, W, mode, refs, mbl, spec.minsnr, tie_pols=spec.gaintype == "T")
    if debias:      # the complex solve's |g|^2 is 1/SNR^2 too high (per antenna; see module doc)
        v = np.where(sol.snr > 1, 1 / np.where(sol.snr > 1, sol.snr, 1) ** 2, 0.0)
        sol.gain = np.where(sol.solved, np.abs(sol.gain) * np.sqrt(1 - v), 1.0).astype(complex)
    for n, k in enumerate(keys):
        ww = pend.sum_ww[k]
        t = pend.sum_wt[k] / ww + T_OFFSET if ww > 0 else pend.t_mean[k]
        out_rows.append({"time": t, "field": k[0], "spw": k[1], "scan": pend.scan[k],
                         "ref": int(sol.refant[n]), "gain": sol.gain[n], "err": sol.err[n],
                         "snr": sol.snr[n], "flag": sol.flag[n]})


def to_caltable(rows: list[dict], gaintype: str, md: MSMetadata, nant: int, refant_order: list[int] | None = None,
                strict: bool = False, phase_only: bool = False) -> CalTable:
    """Solution records -> a CalTable with one row per interval and antenna (CASA's layout).
    refant_order: re-reference as CASA 6 does (heuristics.solve.casa_refant; 'flex', or
    `strict`); phase_only: flagged solutions become 1, as CASA writes 'p' and 'a' solutions."""
    rows = sorted(rows, key=lambda r: (r["time"], r["field"], r["spw"]))
    n = len(rows)
    npol = 2 if gaintype == "G" else 1
    if n and refant_order:
        order = sorted(range(n), key=lambda k: (rows[k]["spw"], rows[k]["time"]))
        g, fl, rf = casa_refant(np.stack([rows[k]["gain"] for k in order]), np.stack([rows[k]["flag"] for k in order]),
                                np.array([rows[k]["spw"] for k in order]), list(refant_order), strict)
        for j, k in enumerate(order):
            rows[k] = {**rows[k], "gain": g[j], "flag": fl[j], "ref": int(rf[j]) if rf[j] >= 0 else rows[k]["ref"]}
    if phase_only:
        rows = [{**r, "gain": np.where(r["flag"], 1 + 0j, r["gain"])} for r in rows]
    g = np.stack([r["gain"] for r in rows]) if n else np.zeros((0, npol, nant))    # (sol, pol, ant)
    tr = lambda a: np.transpose(a, (0, 2, 1)).reshape(n * nant, 1, npol)  # noqa: E731
    rep = lambda key: np.repeat([r[key] for r in rows], nant)  # noqa: E731
    ref = np.array([r["ref"] for r in rows])
    obs = {sc.number: sc.observation for sc in md.scans}
    return CalTable(
        "G Jones" if gaintype == "G" else "T Jones", rep("time"), rep("field"), rep("spw"),
        np.tile(np.arange(nant), n), np.repeat(np.where(ref >= 0, ref, 0), nant), rep("scan"),
        tr(g).astype(np.complex64),
        tr(np.stack([r["err"] for r in rows])).astype(np.float32) if n else np.zeros((0, 1, npol)),
        tr(np.stack([r["flag"] for r in rows])) if n else np.zeros((0, 1, npol), bool),
        tr(np.stack([r["snr"] for r in rows])).astype(np.float32) if n else np.zeros((0, 1, npol)),
        obs_id=np.repeat([obs.get(r["scan"], 0) for r in rows], nant).astype(np.int32),
        ms_name=md.name, field_names=[f.name for f in md.fields],
        antenna_names=[a.name for a in md.antennas])
