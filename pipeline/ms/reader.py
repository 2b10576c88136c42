"""Chunked reading of visibilities.

`iter_chunks` yields blocks of one field, spw (data description) and scan, split between runs
of rows or at integration boundaries so that no block holds more than `max_bytes` of
visibility data (unless a single integration is larger). Every selected row is delivered
exactly once. Scalar columns are scanned in blocks of `SCAN_ROWS` rows to find runs of selected
rows (memory grows with the runs, not the rows); DATA/FLAG/WEIGHT are read only for the rows of
the block in hand.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..errors import MSError, NoDataError, SelectionError, first_line
from .metadata import MSMetadata, read_metadata
from .select import Selection, baseline_mask, uv_mask

SCAN_ROWS = 1_000_000
DEFAULT_MAX_BYTES = 64 * 2**20


@dataclass
class Chunk:
    """One block of visibilities: arrays are (row, channel, correlation)."""
    field_id: int
    spw_id: int
    ddid: int
    scan: int
    rows: np.ndarray        # row numbers in the MS (int64)
    time: np.ndarray        # MJD seconds
    interval: np.ndarray
    antenna1: np.ndarray
    antenna2: np.ndarray
    uvw: np.ndarray         # (row, 3) metres
    data: np.ndarray        # complex64
    flag: np.ndarray        # bool
    weight: np.ndarray      # float32, same shape as data
    channels: np.ndarray    # channel indices read
    chan_freq: np.ndarray   # Hz of those channels
    model: np.ndarray | None = None
    nonfinite: int = 0      # unflagged samples whose data, weight or UVW were not finite (now flagged)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.data, self.flag, self.weight)) + (
            self.model.nbytes if self.model is not None else 0)


KEY_COLUMNS = ("FIELD_ID", "DATA_DESC_ID", "SCAN_NUMBER", "TIME")


def selection_blocks(md: MSMetadata, sel: Selection, tb, columns=KEY_COLUMNS):
    """Yield (start, mask, {column: values}) per block of SCAN_ROWS rows: the rows of the block
    that match `sel` (scalar columns only)."""
    ddid_spw = np.array([d.spw_id for d in md.datadescs], int)
    want_dd = None
    if sel.spws is not None:
        want_dd = np.flatnonzero(np.isin(ddid_spw, list(sel.spws)))
    for start in range(0, md.nrows, SCAN_ROWS):
        n = min(SCAN_ROWS, md.nrows - start)
        k = {c: tb.getcol(c, start, n) for c in columns}
        m = np.ones(n, bool)
        if sel.fields is not None:
            m &= np.isin(k["FIELD_ID"], list(sel.fields))
        if want_dd is not None:
            m &= np.isin(k["DATA_DESC_ID"], want_dd)
        if sel.scans is not None:
            m &= np.isin(k["SCAN_NUMBER"], list(sel.scans))
        if sel.antennas is not None:
            m &= baseline_mask(sel.antennas, tb.getcol("ANTENNA1", start, n),
                               tb.getcol("ANTENNA2", start, n))
        if sel.timerange is not None:
            tm = np.zeros(n, bool)
            for lo, hi in sel.timerange:
                tm |= (k["TIME"] >= lo) & (k["TIME"] <= hi)
            m &= tm
        yield start, m, k


def selected_rows(md: MSMetadata, sel: Selection, table=None, with_keys: bool = False):
    """Row numbers matching `sel`, read in blocks of the scalar columns.

    with_keys: also return {column: values of the selected rows} for KEY_COLUMNS.
    """
    from casacore.tables import table as _table
    tb = table if table is not None else _table(md.path, ack=False)
    try:
        out, keys = [], {c: [] for c in KEY_COLUMNS}
        for start, m, k in selection_blocks(md, sel, tb):
            out.append(np.flatnonzero(m) + start)
            for c in KEY_COLUMNS:
                keys[c].append(k[c][m])
        rows = np.concatenate(out) if out else np.array([], np.int64)
        if not with_keys:
            return rows
        return rows, {c: (np.concatenate(v) if v else np.array([])) for c, v in keys.items()}
    finally:
        if table is None:
            tb.close()


@dataclass
class IOCounter:
    """What one run did to an MS: bytes read from its columns (and chunks), bytes written to
    MODEL_DATA and the seconds spent writing. Owned by a run's Session and passed to the
    readers and writers; never process-wide."""
    bytes_read: int = 0
    chunks: int = 0
    bytes_written: int = 0
    write_seconds: float = 0.0


def _runs(rows: np.ndarray) -> list[tuple[int, int, int]]:
    """(row0, nrows, offset) of each contiguous run of sorted `rows`."""
    cut = np.flatnonzero(np.diff(rows) != 1) + 1
    starts = np.r_[0, cut]
    ends = np.r_[cut, len(rows)]
    return [(int(rows[a]), int(b - a), int(a)) for a, b in zip(starts, ends)]


def _read_rows(tb, col: str, rows: np.ndarray, chans: np.ndarray | None, nchan: int,
               io: IOCounter | None = None):
    """Read `col` for sorted `rows` (one data description: one cell shape) and a channel subset.

    Rows are read run by run, never as a span that could cross into rows of another data
    description (whose cells may have another shape: ALMA's FDM/TDM/CH_AVG/WVR windows are
    interleaved in time). Very fragmented selections fall back to a row-number selection.
    """
    if chans is not None and len(chans) < nchan:
        c0, c1 = int(chans.min()), int(chans.max())
        reader = lambda t, s, n: t.getcolslice(col, [c0, -1], [c1, -1], [], s, n)  # noqa: E731
        sub = chans - c0
    else:
        reader = lambda t, s, n: t.getcol(col, s, n)  # noqa: E731
        sub = None
    runs = _runs(rows)
    if len(runs) == 1:
        arr = reader(tb, runs[0][0], runs[0][1])
    elif len(runs) <= max(4, len(rows) // 32):
        first = reader(tb, runs[0][0], runs[0][1])
        arr = np.empty((len(rows),) + first.shape[1:], first.dtype)
        arr[:runs[0][1]] = first
        for r0, n, off in runs[1:]:
            arr[off:off + n] = reader(tb, r0, n)
    else:
        ref = tb.selectrows(rows.tolist())
        arr = reader(ref, 0, len(rows))
        ref.close()
    if sub is not None and len(sub) != arr.shape[1]:
        arr = arr[:, sub]
    if io is not None:
        io.bytes_read += arr.nbytes
    return arr


def selected_runs(md: MSMetadata, sel: Selection, tb) -> np.ndarray:
    """Runs of consecutive selected rows with one field, data description and scan:
    (nrun, 5) int64 [first row, nrows, field, ddid, scan]. Memory grows with the number of runs
    (integrations x data descriptions for ALMA's interleaved rows), not with the rows."""
    out = []
    for start, m, k in selection_blocks(md, sel, tb):
        idx = np.flatnonzero(m)
        if not idx.size:
            continue
        f, d, sc = k["FIELD_ID"][idx], k["DATA_DESC_ID"][idx], k["SCAN_NUMBER"][idx]
        brk = np.flatnonzero((np.diff(idx) != 1) | (np.diff(f) != 0) | (np.diff(d) != 0)
                             | (np.diff(sc) != 0)) + 1
        first, end = np.r_[0, brk], np.r_[brk, len(idx)]
        out.append(np.column_stack([idx[first] + start, end - first, f[first], d[first], sc[first]]))
    return np.concatenate(out).astype(np.int64) if out else np.zeros((0, 5), np.int64)


def group_runs(md: MSMetadata, runs: np.ndarray, bytes_per_chan_corr: int, max_bytes: int,
               channels=None, tb=None):
    """Split the runs into blocks of one field, data description and scan of at most
    max_bytes (unless one integration is larger), cut between runs or, inside a long run, at
    integration boundaries (TIME of that run read then). Yields (field_id, ddid, scan, rows),
    rows ascending. channels(spw_id) -> selected channel indices or None (all)."""
    order = np.lexsort((runs[:, 0], runs[:, 4], runs[:, 3], runs[:, 2]))
    runs = runs[order]
    key = runs[:, 2:5]
    cut = np.flatnonzero((np.diff(key, axis=0) != 0).any(axis=1)) + 1
    for g in np.split(np.arange(len(runs)), cut):
        fid, ddid, scan = (int(x) for x in runs[g[0], 2:5])
        spw = md.spws[md.datadescs[ddid].spw_id]
        ncorr = len(md.corr_types[md.datadescs[ddid].pol_id])
        chans = channels(spw.id) if channels else None
        nch = spw.nchan if chans is None else len(chans)
        cap = max(1, max_bytes // (nch * ncorr * bytes_per_chan_corr))
        pending, n = [], 0
        for r0, nr in runs[g, :2]:
            pieces = [(int(r0), int(nr))]
            if nr > cap and tb is not None:
                t = tb.getcol("TIME", int(r0), int(nr))
                pieces = [(int(r0) + int(p[0]), len(p)) for p in _split_at_times(np.arange(nr), t, cap)]
            for p0, pn in pieces:
                if n and n + pn > cap:
                    yield fid, ddid, scan, _rows_of(pending)
                    pending, n = [], 0
                pending.append((p0, pn))
                n += pn
        if pending:
            yield fid, ddid, scan, _rows_of(pending)


def _rows_of(runs: list[tuple[int, int]]) -> np.ndarray:
    return np.concatenate([np.arange(r0, r0 + n, dtype=np.int64) for r0, n in runs])


def iter_chunks(ms, sel: Selection | None = None, column: str = "DATA",
                max_bytes: int = DEFAULT_MAX_BYTES, with_model: bool = False,
                io: IOCounter | None = None) -> Iterator[Chunk]:
    """Yield `Chunk`s of the selected data, one field/spw/scan at a time.

    ms: path or MSMetadata. column: DATA, CORRECTED_DATA or MODEL_DATA. with_model also
    reads MODEL_DATA (must exist). Memory is bounded by max_bytes per chunk. io: the run's
    counter of bytes read (optional).
    """
    from casacore.tables import table
    md = ms if isinstance(ms, MSMetadata) else read_metadata(ms)
    sel = sel or Selection()
    if column not in md.columns:
        raise SelectionError(f"column {column} is not in {md.name}; it has "
                             f"{', '.join(c for c in ('DATA', 'CORRECTED_DATA', 'MODEL_DATA') if c in md.columns)}")
    if with_model and "MODEL_DATA" not in md.columns:
        raise NoDataError(f"{md.name} has no MODEL_DATA column; run setmodel first")
    tb = table(md.path, ack=False)
    try:
        runs = selected_runs(md, sel, tb)
        if not len(runs):
            return
        has_ws = "WEIGHT_SPECTRUM" in md.columns and _ws_defined(tb)
        per = 8 + 1 + 4 + (8 if with_model else 0)   # data, flag, weight (and model) bytes
        for fid, ddid, scan, r in group_runs(md, runs, per, max_bytes, sel.channels, tb):
            chans = sel.channels(md.datadescs[ddid].spw_id)
            if io is not None:
                io.chunks += 1
            try:
                ch = _read_chunk(tb, md, sel, r, ddid, fid, scan, chans, column, has_ws, with_model, io)
            except RuntimeError as exc:     # casacore: a truncated or damaged storage file
                raise MSError(f"cannot read rows {int(r[0])}-{int(r[-1])} of {md.name} "
                              f"({first_line(exc, 100)}); the MS is truncated or damaged: "
                              f"restore it from the archive") from None
            yield ch
    finally:
        tb.close()


def _ws_defined(tb) -> bool:
    try:
        return bool(tb.iscelldefined("WEIGHT_SPECTRUM", 0))
    except RuntimeError:
        return False


def _split_at_times(idx: np.ndarray, times: np.ndarray, cap: int):
    """Split index array `idx` (time-sorted) into pieces of <= cap rows at time changes."""
    if len(idx) <= cap:
        yield idx
        return
    t = times[idx]
    starts = np.r_[0, np.flatnonzero(np.diff(t) != 0) + 1, len(idx)]
    a = 0
    while a < len(idx):
        # last boundary not beyond a + cap (at least one integration)
        j = np.searchsorted(starts, a + cap, side="right") - 1
        b = starts[j] if starts[j] > a else starts[np.searchsorted(starts, a, side="right")]
        yield idx[a:b]
        a = b


def _mask_nonfinite(data, flag, weight, uvw):
    """Samples whose visibility or weight is NaN or infinite, or whose row's UVW is, are flagged
    (data and weight set to 0, UVW to 0) as real data sometimes have them; returns the arrays and
    how many unflagged samples that affected."""
    bad_uvw = ~np.isfinite(uvw).all(axis=1)
    bad = ~np.isfinite(data) | ~np.isfinite(weight) | bad_uvw[:, None, None]
    if not bad.any():
        return data, flag, weight, uvw, 0
    n = int((bad & ~flag).sum())
    data = np.where(bad, 0, data).astype(data.dtype)
    weight = np.where(bad, 0, weight).astype(np.float32)
    uvw = np.where(bad_uvw[:, None], 0.0, uvw)
    return data, flag | bad, weight, uvw, n


def _read_chunk(tb, md, sel, rows, ddid, field_id, scan, chans, column, has_ws,
                with_model, io=None) -> Chunk:
    spw = md.spws[md.datadescs[ddid].spw_id]
    nchan = spw.nchan
    rd = lambda c: _read_rows(tb, c, rows, None, 1, io)  # noqa: E731
    a1, a2 = rd("ANTENNA1"), rd("ANTENNA2")
    uvw = rd("UVW")
    data = _read_rows(tb, column, rows, chans, nchan, io).astype(np.complex64, copy=False)
    flag = _read_rows(tb, "FLAG", rows, chans, nchan, io) | rd("FLAG_ROW")[:, None, None]
    if has_ws:
        weight = _read_rows(tb, "WEIGHT_SPECTRUM", rows, chans, nchan, io).astype(np.float32, copy=False)
    else:
        weight = np.broadcast_to(rd("WEIGHT").astype(np.float32)[:, None, :], data.shape)
    model = (_read_rows(tb, "MODEL_DATA", rows, chans, nchan, io).astype(np.complex64, copy=False)
             if with_model else None)
    data, flag, weight, uvw, nonfinite = _mask_nonfinite(data, flag, weight, uvw)
    ch = np.arange(nchan) if chans is None else np.asarray(chans)
    keep = None
    if sel.uvrange is not None:
        keep = uv_mask(sel.uvrange, uvw, spw.centre_freq)
    c = Chunk(field_id, spw.id, ddid, scan, rows, rd("TIME"),
              rd("INTERVAL"), a1, a2, uvw, data, flag, weight, ch, spw.chan_freq[ch], model, nonfinite)
    if keep is not None and not keep.all():
        for name in ("rows", "time", "interval", "antenna1", "antenna2", "uvw", "data", "flag",
                     "weight"):
            setattr(c, name, getattr(c, name)[keep])
        if c.model is not None:
            c.model = c.model[keep]
    return c
