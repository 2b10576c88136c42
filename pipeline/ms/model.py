"""Writing MODEL_DATA: the only column of an MS fluxpipe ever modifies.

`write_model(ms, sel, fn)` evaluates `fn(field_id, spw_id, chan_freq, uvw)` -> complex array
broadcastable to (row, channel, correlation) for each selected field/spw/scan block and writes
it. When MODEL_DATA is absent it is created with DATA's shape and storage layout, every row
set to 1+0j as CASA does, before the selected rows are written.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import MSError
from .metadata import MSMetadata, read_metadata
from .select import Selection
from .reader import DEFAULT_MAX_BYTES, group_blocks, selected_rows, _read_rows

ModelFn = Callable[[int, int, np.ndarray, np.ndarray], np.ndarray]


def _add_model_column(tb, md: MSMetadata, max_bytes: int) -> None:
    from casacore.tables import makearrcoldesc, maketabdesc
    desc = tb.getcoldesc("DATA")
    cd = makearrcoldesc("MODEL_DATA", 0j, valuetype="complex", ndim=desc.get("ndim", 2),
                        shape=desc.get("shape", []), comment="The model data column")
    dminfo = {"TYPE": "TiledShapeStMan", "NAME": "TiledModel",
              "SPEC": {"DEFAULTTILESHAPE": np.array([2, 64, 1024], np.int32)}}
    tb.addcols(maketabdesc(cd), dminfo)
    # fill with 1+0j in bounded blocks (shape may differ between data descriptions)
    ddid = tb.getcol("DATA_DESC_ID")
    nrow = tb.nrows()
    start = 0
    while start < nrow:
        dd = ddid[start]
        spw = md.spws[md.datadescs[dd].spw_id]
        ncorr = len(md.corr_types[md.datadescs[dd].pol_id])
        cap = max(1, max_bytes // (spw.nchan * ncorr * 8))
        end = start + 1
        lim = min(nrow, start + cap)
        while end < lim and ddid[end] == dd:
            end += 1
        tb.putcol("MODEL_DATA", np.ones((end - start, spw.nchan, ncorr), np.complex64), start,
                  end - start)
        start = end


def write_model(ms, sel: Selection, fn: ModelFn, max_bytes: int = DEFAULT_MAX_BYTES) -> int:
    """Write fn's model into MODEL_DATA for the rows of `sel`; return rows written.

    Channel selections in `sel` are ignored: a model is written for every channel.
    """
    from casacore.tables import table
    md = ms if isinstance(ms, MSMetadata) else read_metadata(ms)
    # Evaluate nothing lazily that could fail half-way: resolve rows first (read-only).
    rows, key_cols = selected_rows(md, sel, with_keys=True)
    try:
        tb = table(md.path, ack=False, readonly=False)
    except RuntimeError as exc:
        raise MSError(f"cannot open {md.path} for writing MODEL_DATA: {str(exc).splitlines()[0]}") from None
    written = 0
    try:
        if "MODEL_DATA" not in tb.colnames():
            _add_model_column(tb, md, max_bytes)
            md.columns.add("MODEL_DATA")
        if rows.size == 0:
            return 0
        for fid, dd, _, r, _ in group_blocks(md, rows, key_cols, 8, max_bytes):
            spw = md.spws[md.datadescs[dd].spw_id]
            ncorr = len(md.corr_types[md.datadescs[dd].pol_id])
            uvw = _read_rows(tb, "UVW", r, None, 1)
            out = np.empty((len(r), spw.nchan, ncorr), np.complex64)
            out[...] = np.asarray(fn(fid, spw.id, spw.chan_freq, uvw))
            _put_rows(tb, "MODEL_DATA", r, out)
            written += len(r)
        tb.flush()
    finally:
        tb.close()
    return written


def _put_rows(tb, col: str, rows: np.ndarray, values: np.ndarray) -> None:
    runs = np.flatnonzero(np.diff(rows) != 1) + 1
    if len(runs) < 8:
        for seg_rows, seg_vals in zip(np.split(rows, runs), np.split(values, runs)):
            tb.putcol(col, seg_vals, int(seg_rows[0]), len(seg_rows))
    else:
        ref = tb.selectrows(rows.tolist())
        ref.putcol(col, values)
        ref.close()
