"""gaincal without CASA: stream an MS, pre-apply tables, solve per interval, write a caltable.

Solution intervals: 'int' (each integration), 'Ns' / 'Nmin' / 'Nh' / a bare number of
seconds (bins of that length from the start of each scan), 'inf' (one per scan). combine='scan'
joins the scans of a field. Intervals are solved and released as soon as the data of their
field/spw/scan block have been read, so memory does not grow with the length of the MS.
The model is MODEL_DATA when `model` is 'column', a callable model(field, spw, chan_freq, uvw)
-> (row, chan) or scalar (evaluated per chunk), or a 1 Jy point source (model=None), as CASA
assumes when MODEL_DATA is absent.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import numpy as np

from heuristics.refant import rank_refants
from heuristics.solve import apply_mode, baseline_average, hermitian, solve_gains
from .calapply import Applier, ApplySpec
from .caltable import CalTable, write_caltable
from .errors import InputsError, NoDataError, SelectionError
from .ms import iter_chunks, read_metadata, select
from .ms.metadata import MSMetadata
from .ms.select import antenna_ids

log = logging.getLogger(__name__)
T_OFFSET = 4e9   # MJD seconds subtracted before weighted time sums, to keep their precision


def parse_solint(solint: str | float) -> float | str:
    """'int' / 'inf' -> themselves; '30s', '2min', '1.5h', 30 -> seconds."""
    s = str(solint).strip().lower()
    if s in ("int", "inf"):
        return s
    m = re.fullmatch(r"([\d.]+(?:e[+-]?\d+)?)\s*(s|sec|min|m|h)?", s)
    if not m:
        raise InputsError(f"solint '{solint}' cannot be parsed; use 'int', 'inf', or a time such "
                          f"as '30s', '2min', '0.5h'")
    val = float(m.group(1)) * {"s": 1, "sec": 1, None: 1, "min": 60, "m": 60, "h": 3600}[m.group(2)]
    if val <= 0:
        raise InputsError(f"solint '{solint}' must be positive")
    return val


def parse_refant(refant: str, md: MSMetadata) -> list[int]:
    if not refant:
        return []
    try:
        return [i for tok in str(refant).split(",") if tok.strip() for i in antenna_ids(tok, md)]
    except SelectionError as exc:
        raise InputsError(f"refant: {exc}") from None


def corr_pols(corrs: list[str]) -> list[tuple[int, int]]:
    """Receptor pair of each correlation: XX->(0,0), XY->(0,1), YX->(1,0), YY->(1,1)."""
    r = {"X": 0, "Y": 1, "R": 0, "L": 1}
    return [(r[c[0]], r[c[1]]) for c in corrs]


def unflagged_fraction(md: MSMetadata, sel, max_bytes: int = 32 * 2**20) -> np.ndarray:
    """Fraction of unflagged samples per antenna over the selection (reads FLAG only)."""
    from casacore.tables import table
    from .ms.reader import selected_rows, _read_rows
    rows = selected_rows(md, sel)
    nant = len(md.antennas)
    good = np.zeros(nant)
    tot = np.zeros(nant)
    if rows.size == 0:
        return good
    tb = table(md.path, ack=False)
    step = max(1, max_bytes // (md.spws[0].nchan * 4 + 1))
    for k in range(0, len(rows), step):
        r = rows[k:k + step]
        a1, a2 = _read_rows(tb, "ANTENNA1", r, None, 1), _read_rows(tb, "ANTENNA2", r, None, 1)
        fr = _read_rows(tb, "FLAG", r, None, 1).mean(axis=(1, 2)) if len(r) else np.zeros(0)
        fr = np.maximum(fr, _read_rows(tb, "FLAG_ROW", r, None, 1))
        for a in (a1, a2):
            good += np.bincount(a, weights=1 - fr, minlength=nant)
            tot += np.bincount(a, minlength=nant)
    tb.close()
    return np.where(tot > 0, good / np.maximum(tot, 1), 0)


def ranked_refants(md: MSMetadata, sel, user: str = "") -> list[int]:
    """User's list first (it always wins), then the pipeline's ranking of the rest."""
    mine = parse_refant(user, md)
    ranking = rank_refants(md.antenna_positions(), unflagged_fraction(md, sel))
    return mine + [int(a) for a in ranking if a not in mine]


@dataclass
class _Pending:
    sum_wr: dict = field(default_factory=dict)   # slot key -> (npol, nant, nant)
    sum_w: dict = field(default_factory=dict)
    sum_wt: dict = field(default_factory=dict)   # weighted time
    sum_ww: dict = field(default_factory=dict)
    t_mean: dict = field(default_factory=dict)   # plain mean time, used when all weights are 0
    scan: dict = field(default_factory=dict)


@dataclass
class GaincalResult:
    table: CalTable
    refants: list[int]
    nsolutions: int
    nflagged: int
    spw_chan_freq: dict


def gaincal(vis: "str | MSMetadata", caltable: str | None = None, field: str = "", spw: str = "",
            intent: str = "", selectdata: dict | None = None, solint: str = "inf",
            combine: str = "", gaintype: str = "G", calmode: str = "ap", refant: str = "",
            minblperant: int = 4, minsnr: float = 3.0, gaintable: list[str] | None = None,
            gainfield: list[str] | None = None, interp: list[str] | None = None,
            spwmap: list[list[int]] | None = None, model=None, column: str = "DATA",
            refant_order: list[int] | None = None, max_bytes: int = 64 * 2**20) -> GaincalResult:
    """Solve antenna gains as CASA's gaincal does (see module doc); write `caltable` if given."""
    md = vis if isinstance(vis, MSMetadata) else read_metadata(vis)
    if gaintype not in ("G", "T"):
        raise InputsError(f"gaintype '{gaintype}' is not supported; use 'G' or 'T'")
    if calmode not in ("p", "a", "ap"):
        raise InputsError(f"calmode '{calmode}' is not valid; use 'p', 'a' or 'ap'")
    si = parse_solint(solint)
    comb_scan = "scan" in str(combine)
    sel = select(md, field=field, spw=spw, intent=intent, **(selectdata or {}))
    refs = list(refant_order) if refant_order else ranked_refants(md, sel, refant)
    gaintable = list(gaintable or [])
    specs = [ApplySpec.load(t, (gainfield or [""] * len(gaintable))[k] if gainfield and k < len(gainfield) else "",
                            (interp or [])[k] if interp and k < len(interp) else "linear",
                            (spwmap or [])[k] if spwmap and k < len(spwmap) else [])
             for k, t in enumerate(gaintable)]
    dirs = np.array([[f.ra, f.dec] for f in md.fields])
    applier = Applier(specs, len(md.antennas), dirs)
    scan_start = {s.number: s.start for s in md.scans}
    field_start = {}
    for s in md.scans:
        for f in s.field_ids:
            field_start[f] = min(field_start.get(f, np.inf), s.start)
    nant = len(md.antennas)
    pend = _Pending()
    out_rows: list[dict] = []
    chan_freq: dict[int, list] = {}
    group = None
    with_model = model == "column"
    nread = 0
    for ch in iter_chunks(md, sel, column=column, max_bytes=max_bytes, with_model=with_model):
        nread += len(ch.rows)
        key = (ch.field_id, ch.spw_id, -1 if comb_scan else ch.scan)
        if group is not None and key != group and not comb_scan:
            _flush(pend, out_rows, gaintype, calmode, refs, minblperant, minsnr)
        group = key
        cp = corr_pols(md.corr_types[md.datadescs[ch.ddid].pol_id])
        par = [k for k, (a, b) in enumerate(cp) if a == b]
        applier.apply(ch, cp)
        if with_model:
            M = ch.model
        elif callable(model):
            M = np.asarray(model(ch.field_id, ch.spw_id, ch.chan_freq, ch.uvw), complex)
            M = np.broadcast_to(M if M.ndim >= 2 else M.reshape((1,) * (2 - M.ndim) + M.shape)
                                , ch.data.shape[:2])[..., None]
        else:
            M = None
        data, w = ch.data[..., par], np.where(ch.flag[..., par], 0.0, ch.weight[..., par])
        if M is not None:
            Mp = np.broadcast_to(M, ch.data.shape)[..., par]
            nz = np.abs(Mp) > 0
            R = np.where(nz, data / np.where(nz, Mp, 1), 0)
            w = np.where(nz, w * np.abs(Mp) ** 2, 0)
        else:
            R = data.astype(np.complex128)
        chan_freq.setdefault(ch.spw_id, [set(), md.spws[ch.spw_id]])[0].update(ch.channels.tolist())
        # interval bins within this chunk
        if si == "int":
            bins = np.round(ch.time, 3)
        elif si == "inf":
            bins = np.zeros_like(ch.time)
        else:
            t0 = field_start[ch.field_id] if comb_scan else scan_start[ch.scan]
            bins = np.floor((ch.time - t0) / si + 1e-6)
        ub, slot = np.unique(bins, return_inverse=True)
        swr, sw = baseline_average(slot, ch.antenna1, ch.antenna2, R, w, len(ub), nant)
        rw = w.sum(axis=(1, 2))
        st = np.bincount(slot, weights=rw * (ch.time - T_OFFSET), minlength=len(ub))
        sws = np.bincount(slot, weights=rw, minlength=len(ub))
        for k, b in enumerate(ub):
            sk = (ch.field_id, ch.spw_id, -1 if comb_scan else ch.scan, float(b))
            if sk in pend.sum_wr:
                pend.sum_wr[sk] += swr[k]
                pend.sum_w[sk] += sw[k]
                pend.sum_wt[sk] += st[k]
                pend.sum_ww[sk] += sws[k]
            else:
                pend.sum_wr[sk], pend.sum_w[sk] = swr[k], sw[k]
                pend.sum_wt[sk], pend.sum_ww[sk] = st[k], sws[k]
                pend.scan[sk] = ch.scan
                pend.t_mean[sk] = float(ch.time[slot == k].mean())
    if nread == 0:
        raise NoDataError(f"no data selected in {md.name} for field='{field}' spw='{spw}'"
                          f"{' intent=' + intent if intent else ''}; check the selection")
    _flush(pend, out_rows, gaintype, calmode, refs, minblperant, minsnr)
    ct = _to_caltable(out_rows, gaintype, md, nant)
    if not (~ct.flag).any():
        raise NoDataError(f"no unflagged solutions in {md.name} for field='{field}' spw='{spw}': "
                          f"all data flagged or below minsnr={minsnr}; check flags or lower minsnr")
    spw_cf = {s: (float(spw_o.chan_freq[sorted(c)].mean()), float(np.abs(spw_o.chan_width[sorted(c)]).sum()))
              for s, (c, spw_o) in chan_freq.items()}
    if caltable:
        write_caltable(caltable, ct, md.path, spw_cf)
    return GaincalResult(ct, refs, int(ct.flag.shape[0]), int(ct.flag.all(axis=(1, 2)).sum()), spw_cf)


def _flush(pend: _Pending, out_rows: list, gaintype, calmode, refs, minblperant, minsnr):
    keys = [k for k in pend.sum_wr]
    if not keys:
        return
    swr = np.stack([pend.sum_wr[k] for k in keys])
    sw = np.stack([pend.sum_w[k] for k in keys])
    X, W = apply_mode(*hermitian(swr, sw), calmode)
    sol = solve_gains(X, W, calmode, refs, minblperant, minsnr, tie_pols=gaintype == "T")
    for n, k in enumerate(keys):
        ww = pend.sum_ww[k]
        t = pend.sum_wt[k] / ww + T_OFFSET if ww > 0 else pend.t_mean[k]
        out_rows.append({"time": t, "field": k[0], "spw": k[1], "scan": pend.scan[k],
                         "ref": int(sol.refant[n]), "gain": sol.gain[n], "err": sol.err[n],
                         "snr": sol.snr[n], "flag": sol.flag[n]})
    pend.__init__()


def _to_caltable(rows: list[dict], gaintype: str, md: MSMetadata, nant: int) -> CalTable:
    rows = sorted(rows, key=lambda r: (r["time"], r["field"], r["spw"]))
    n = len(rows)
    npol = 2 if gaintype == "G" else 1
    g = np.stack([r["gain"] for r in rows]) if n else np.zeros((0, npol, nant))    # (sol, pol, ant)
    tr = lambda a: np.transpose(a, (0, 2, 1)).reshape(n * nant, 1, npol)  # noqa: E731
    rep = lambda key: np.repeat([r[key] for r in rows], nant)  # noqa: E731
    ref = np.array([r["ref"] for r in rows])
    return CalTable(
        "G Jones" if gaintype == "G" else "T Jones", rep("time"), rep("field"), rep("spw"),
        np.tile(np.arange(nant), n), np.repeat(np.where(ref >= 0, ref, 0), nant), rep("scan"),
        tr(g).astype(np.complex64),
        tr(np.stack([r["err"] for r in rows])).astype(np.float32) if n else np.zeros((0, 1, npol)),
        tr(np.stack([r["flag"] for r in rows])) if n else np.zeros((0, 1, npol), bool),
        tr(np.stack([r["snr"] for r in rows])).astype(np.float32) if n else np.zeros((0, 1, npol)),
        ms_name=md.name, field_names=[f.name for f in md.fields],
        antenna_names=[a.name for a in md.antennas])
