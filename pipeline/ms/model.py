"""Writing MODEL_DATA: the only column of an MS fluxpipe ever modifies, in one pass.

`write_model(ms, sel, fn)` evaluates `fn(field_id, spw_id, chan_freq, uvw)` -> Stokes I,
broadcastable to (row, channel, 1), for the selected rows and writes it into the parallel hands
(XX, YY / RR, LL: I without a factor 1/2, as setjy does); cross hands get 0 (no polarisation).
When MODEL_DATA is absent the column is created and every row is written in the same pass:
rows outside the selection get CASA's default model, 1 in the parallel hands and 0 in the
cross hands. Rows are written in contiguous runs of one data description (one cell shape),
each up to `max_bytes` (8 MiB: casacore's tiled storage managers write such blocks several
times faster than 64-MiB ones); UVW is read only for the selected rows.
"""
from __future__ import annotations

import signal
import time
from contextlib import contextmanager
from typing import Callable

import numpy as np

from ..errors import DiskFullError, MSError, disk_full_message, first_line, is_disk_full
from .metadata import MSMetadata, read_metadata
from .onepass import corr_pols
from .reader import KEY_COLUMNS, IOCounter, selection_blocks
from .select import Selection

ModelFn = Callable[[int, int, np.ndarray, np.ndarray], np.ndarray]
WRITE_BYTES = 8 * 2**20


def _add_model_column(tb) -> None:
    from casacore.tables import makearrcoldesc, maketabdesc
    desc = tb.getcoldesc("DATA")
    cd = makearrcoldesc("MODEL_DATA", 0j, valuetype="complex", ndim=desc.get("ndim", 2),
                        shape=desc.get("shape", []), comment="The model data column")
    dminfo = {"TYPE": "TiledShapeStMan", "NAME": "TiledModel",
              "SPEC": {"DEFAULTTILESHAPE": np.array([2, 64, 1024], np.int32)}}
    tb.addcols(maketabdesc(cd), dminfo)


@contextmanager
def _signals_held():
    """SIGINT and SIGTERM held (delivered afterwards) while the table is put back in order."""
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (ValueError, OSError):       # not possible here: go on without
        old = None
    try:
        yield
    finally:
        if old is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _runs(*keys: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of the runs over which all `keys` are constant."""
    change = np.zeros(len(keys[0]) - 1, bool)
    for k in keys:
        change |= np.diff(k) != 0
    cut = np.flatnonzero(change) + 1
    return list(zip(np.r_[0, cut].tolist(), np.r_[cut, len(keys[0])].tolist()))


def write_model(ms, sel: Selection, fn: ModelFn, max_bytes: int = WRITE_BYTES,
                fill_others: bool = False, io: IOCounter | None = None,
                on_rows: Callable[[int], None] | None = None) -> int:
    """Write fn's model into MODEL_DATA for the rows of `sel`; return rows written (see module
    doc). Channel selections in `sel` are ignored: a model is written for every channel.
    fill_others: also write the default model into every other row (after an interrupted
    write, or when the column is new). io: the run's counter (bytes written, seconds)."""
    from casacore.tables import table
    io = io if io is not None else IOCounter()
    t0 = time.perf_counter()
    md = ms if isinstance(ms, MSMetadata) else read_metadata(ms)
    try:
        tb = table(md.path, ack=False, readonly=False)
    except RuntimeError as exc:
        raise MSError(f"cannot open {md.path} for writing MODEL_DATA: {first_line(exc)}") from None
    written, create = 0, False
    try:
        create = "MODEL_DATA" not in tb.colnames()
        if create:
            _add_model_column(tb)
        unit = {}
        for start, want, k in selection_blocks(md, sel, tb, KEY_COLUMNS):
            todo = np.ones(len(want), bool) if (create or fill_others) else want
            for a, b in _runs(k["DATA_DESC_ID"], k["FIELD_ID"], want):
                if not todo[a]:
                    continue
                dd = md.datadescs[int(k["DATA_DESC_ID"][a])]
                spw = md.spws[dd.spw_id]
                cp = corr_pols(md.corr_types[dd.pol_id])
                par = [c for c, (p, q) in enumerate(cp) if p == q]
                cap = max(1, max_bytes // (spw.nchan * len(cp) * 8))
                for r0 in range(a, b, cap):
                    n = min(cap, b - r0)
                    if want[a]:
                        uvw = tb.getcol("UVW", start + r0, n)
                        uvw[~np.isfinite(uvw).all(axis=1)] = 0.0        # a non-finite UVW: the zero-spacing model
                        out = np.zeros((n, spw.nchan, len(cp)), np.complex64)
                        out[..., par] = np.broadcast_to(np.asarray(
                            fn(int(k["FIELD_ID"][a]), spw.id, spw.chan_freq, uvw)), (n, spw.nchan, 1))
                        written += n
                    else:
                        key = (spw.nchan, tuple(cp))
                        if key not in unit or len(unit[key]) < n:
                            unit[key] = np.zeros((cap, spw.nchan, len(cp)), np.complex64)
                            unit[key][..., par] = 1
                        out = unit[key][:n]
                    tb.putcol("MODEL_DATA", out, start + r0, n)
                    io.bytes_written += out.nbytes
                    if on_rows is not None:
                        on_rows(n)
        tb.flush()
    except BaseException as exc:
        # Ctrl-C, a full disk, any error: a column created here and left partly written would
        # hold undefined cells (casacore then cannot read it; CASA crashes): it goes, and the MS
        # is as before; an existing column has every row wholly old or new
        with _signals_held():
            if create and "MODEL_DATA" in tb.colnames():
                try:
                    tb.removecols("MODEL_DATA")
                except RuntimeError:
                    pass
            tb.close()
        if isinstance(exc, (RuntimeError, OSError)) and is_disk_full(exc, [md.path]):
            raise DiskFullError(disk_full_message(md.path, "MODEL_DATA")) from None
        raise
    with _signals_held():
        tb.close()
    if create:
        md.columns.add("MODEL_DATA")
    io.write_seconds += time.perf_counter() - t0
    return written
