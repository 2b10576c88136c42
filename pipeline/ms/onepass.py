"""The one pass: stream the selected (calibrator) rows once and build the `Cube`.

Per chunk (one field, data description and scan, bounded in bytes): count unflagged samples
per antenna (the refant ranking's input), apply the pre-applied tables per channel, divide by
the model per channel (a callable model(field, spw, chan_freq, uvw), 'column' for MODEL_DATA,
or None for a 1 Jy point source) and average the channels of each parallel hand with weights
w |M|^2 (see pipeline.cube). Data descriptions of any shape are read separately, so FDM, TDM,
1-channel CH_AVG and WVR windows side by side are fine.
"""
from __future__ import annotations

import os
import shutil
import time
from typing import Callable

import numpy as np

from ..cube import Block, Cube, CubeIndex
from .metadata import MSMetadata
from .reader import DEFAULT_MAX_BYTES, ReadStats, iter_chunks
from .select import Selection

Apply = Callable[[object, list], None]


def corr_pols(corrs: list[str]) -> list[tuple[int, int]]:
    """Receptor pair of each correlation: XX->(0,0), XY->(0,1), YX->(1,0), YY->(1,1)."""
    r = {"X": 0, "Y": 1, "R": 0, "L": 1}
    return [(r[c[0]], r[c[1]]) for c in corrs]


def parallel_hands(cp: list[tuple[int, int]]) -> list[int | None]:
    """Correlation index of polarisation 0 and 1 (XX/RR, YY/LL); None where absent."""
    return [next((k for k, (a, b) in enumerate(cp) if a == b == p), None) for p in (0, 1)]


def model_matrix(model, ch) -> np.ndarray | None:
    """The model of a chunk as (row or 1, chan, 1|corr); None for a 1 Jy point source."""
    if model is None:
        return None
    if isinstance(model, str):
        return ch.model
    M = np.asarray(model(ch.field_id, ch.spw_id, ch.chan_freq, ch.uvw), complex)
    if M.ndim < 2:
        M = M.reshape((1,) * (2 - M.ndim) + M.shape)
    if np.all(M == 1):
        return None
    return M[..., None]


def _average(ch, par: list[int | None], M: np.ndarray | None) -> dict:
    """Channel averages of the cross-correlation rows of a chunk (see pipeline.cube)."""
    cross = ch.antenna1 != ch.antenna2
    n = int(cross.sum())
    out = {"time": ch.time[cross], "antenna1": ch.antenna1[cross].astype(np.int32),
           "antenna2": ch.antenna2[cross].astype(np.int32), "uvw": ch.uvw[cross],
           "vis": np.zeros((n, 2), complex), "weight": np.zeros((n, 2))}
    if M is not None:
        out["data"], out["wdata"] = np.zeros((n, 2), complex), np.zeros((n, 2))
        Mb = np.broadcast_to(M, ch.data.shape)[cross] if M.shape[0] > 1 else M
    for p, c in enumerate(par):
        if c is None:
            continue
        V = ch.data[cross, :, c]
        w = np.where(ch.flag[cross, :, c], 0.0, ch.weight[cross, :, c])
        if M is None:
            S, W = (w * V).sum(axis=1), w.sum(axis=1)
        else:
            out["data"][:, p] = _ratio((w * V).sum(axis=1), w.sum(axis=1))
            out["wdata"][:, p] = w.sum(axis=1)
            Mc = Mb[..., min(c, Mb.shape[-1] - 1)]
            nz = np.abs(Mc) > 0
            R = np.where(nz, V / np.where(nz, Mc, 1), 0)
            wm = np.where(nz, w * np.abs(Mc) ** 2, 0.0)
            S, W = (wm * R).sum(axis=1), wm.sum(axis=1)
        out["vis"][:, p] = _ratio(S, W)
        out["weight"][:, p] = W
    return out


def _ratio(s: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.where(w > 0, s / np.where(w > 0, w, 1), 0)


def build_cube(md: MSMetadata, sel: Selection, model=None, apply: Apply | None = None,
               column: str = "DATA", directory: str | None = None, key: str = "",
               max_bytes: int = DEFAULT_MAX_BYTES) -> Cube:
    """Stream the rows of `sel` once into a Cube (kept in `directory` when given)."""
    t0, b0 = time.perf_counter(), ReadStats.bytes_read
    if directory:
        if os.path.exists(directory):
            shutil.rmtree(directory)
        os.makedirs(directory)
    nant = len(md.antennas)
    good, tot = np.zeros(nant), np.zeros(nant)
    fields = sorted(sel.fields) if sel.fields is not None else [f.id for f in md.fields]
    cube = Cube(CubeIndex(key=key, ms=md.name, fields=fields), directory)
    chans: dict[int, set] = {}
    parts: list[dict] = []
    current = None
    nread = 0
    for ch in iter_chunks(md, sel, column=column, max_bytes=max_bytes, with_model=model == "column"):
        nread += len(ch.rows)
        fr = 1.0 - ch.flag.mean(axis=(1, 2))
        for a in (ch.antenna1, ch.antenna2):
            good += np.bincount(a, weights=fr, minlength=nant)
            tot += np.bincount(a, minlength=nant)
        cp = corr_pols(md.corr_types[md.datadescs[ch.ddid].pol_id])
        if apply is not None:
            apply(ch, cp)
        this = (ch.field_id, ch.spw_id, ch.ddid, ch.scan)
        if current is not None and this != current:
            cube.add(_block(current, parts))
            parts = []
        current = this
        parts.append(_average(ch, parallel_hands(cp), model_matrix(model, ch)))
        chans.setdefault(ch.spw_id, set()).update(ch.channels.tolist())
    if parts:
        cube.add(_block(current, parts))
    ix = cube.index
    for s, c in chans.items():
        c = sorted(c)
        spw = md.spws[s]
        ix.spw_chan[s] = (float(spw.chan_freq[c].mean()), float(np.abs(spw.chan_width[c]).sum()))
    ix.ant_good, ix.ant_total = good.tolist(), tot.tolist()
    ix.rows_read = nread
    ix.bytes_read = ReadStats.bytes_read - b0
    ix.seconds = time.perf_counter() - t0
    cube.save()
    return cube


def _block(key, parts: list[dict]) -> Block:
    f, s, dd, scan = key
    cat = {k: (np.concatenate([p[k] for p in parts]) if k in parts[0] else None)
           for k in ("time", "antenna1", "antenna2", "uvw", "vis", "weight", "data", "wdata")}
    return Block(f, s, dd, scan, **cat)
