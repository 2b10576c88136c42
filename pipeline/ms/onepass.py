"""The one pass: stream the selected (calibrator) rows once and build the `Cube`.

Per chunk (one field, data description and scan, bounded in bytes): count unflagged samples
per antenna (the refant ranking's input), apply the pre-applied tables per channel, divide by
the model per channel (a callable model(field, spw, chan_freq, uvw), 'column' for MODEL_DATA,
or None for a 1 Jy point source) and average the channels of each parallel hand with weights
w |M|^2 (see fluxpipe.cube). Data descriptions of any shape are read separately, so FDM, TDM,
1-channel CH_AVG and WVR windows side by side are fine.
"""
from __future__ import annotations

import os
import shutil
import time
from typing import Callable

import numpy as np

from ..cube import Block, Cube, CubeIndex, FieldInfo
from .metadata import MSMetadata
from .reader import DEFAULT_MAX_BYTES, IOCounter, iter_chunks
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


def _csum(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """sum_c x[n, c, p] v  ->  (n, p), for v of shape (c,), (n, c) or (n, c, p); BLAS where it can."""
    if v.ndim == 1:
        return x.transpose(0, 2, 1) @ v
    if v.ndim == 2:
        return (x.transpose(0, 2, 1) @ v[:, :, None])[..., 0]
    return np.einsum("ncp,ncp->np", x, v)


def _model_vectors(M: np.ndarray | None, take, pick, nchan: int):
    """(conj(M), |M|^2) as (c,), (n, c) or (n, c, p) in single precision."""
    if M is None:
        return np.ones(nchan, np.complex64), np.ones(nchan, np.float32)
    Mb = M if M.shape[0] == 1 else take(M)
    Mb = pick(Mb) if Mb.shape[-1] > 1 else Mb[..., 0]
    if Mb.ndim == 2 and Mb.shape[0] == 1:
        Mb = Mb[0]
    return np.conj(Mb).astype(np.complex64), (np.abs(Mb) ** 2).astype(np.float32)


def _average(ch, par: list[int | None], M: np.ndarray | None) -> dict:
    """Channel averages of the cross-correlation rows of a chunk (see fluxpipe.cube).

    Uses sum_c w |M|^2 (V / M) = sum_c w conj(M) V (no division; M = 0 contributes nothing),
    takes channel-constant weights (no WEIGHT_SPECTRUM) out of the sums and does the channel
    sums as matrix-vector products (single-precision accumulation, ~1e-7 relative).
    """
    cross = ch.antenna1 != ch.antenna2
    allx = bool(cross.all())
    take = (lambda a: a) if allx else (lambda a: a[cross])  # noqa: E731
    n = len(ch.time) if allx else int(cross.sum())
    out = {"time": take(ch.time), "antenna1": take(ch.antenna1).astype(np.int32),
           "antenna2": take(ch.antenna2).astype(np.int32), "uvw": take(ch.uvw),
           "vis": np.zeros((n, 2), complex), "weight": np.zeros((n, 2))}
    have = [p for p in (0, 1) if par[p] is not None]
    cols = [par[p] for p in have]
    whole = cols == list(range(ch.data.shape[2]))
    pick = (lambda a: a) if whole else (lambda a: a[..., cols])  # noqa: E731
    V, flag = pick(take(ch.data)), pick(take(ch.flag))        # (n, chan, P)
    nchan = V.shape[1]
    anyflag = bool(flag.any())
    per_row = ch.weight.strides[1] == 0                       # WEIGHT broadcast over channels
    if per_row:
        wrow = pick(take(ch.weight[:, 0, :])).astype(float)   # (n, P)
        wc = (~flag).astype(np.float32) if anyflag else None
    else:
        wrow, wc = 1.0, np.where(flag, 0.0, pick(take(ch.weight))).astype(np.float32)
    Vw = V if wc is None else np.where(flag, 0, V) * wc      # (n, chan, P) complex64

    def sums(q, r):
        """(sum_c w q V, sum_c w r) per row and hand."""
        if wc is not None:
            W = _csum(wc, r)
        elif r.ndim == 1:
            W = np.full((n, len(have)), float(r.sum()))
        elif r.ndim == 2:
            W = np.repeat(r.sum(axis=1)[:, None], len(have), axis=1)
        else:
            W = r.sum(axis=1)
        return _csum(Vw, q) * wrow, W * wrow

    S, W = sums(*_model_vectors(M, take, pick, nchan))
    if M is not None:
        raw_s, raw_w = sums(np.ones(nchan, np.complex64), np.ones(nchan, np.float32))
        out["data"], out["wdata"] = np.zeros((n, 2), complex), np.zeros((n, 2))
        out["data"][:, have], out["wdata"][:, have] = _ratio(raw_s, raw_w), raw_w
    out["vis"][:, have] = _ratio(S, W)
    out["weight"][:, have] = W
    return out


def _ratio(s: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.where(w > 0, s / np.where(w > 0, w, 1), 0)


def build_cube(md: MSMetadata, sel: Selection, model=None, apply: Apply | None = None,
               column: str = "DATA", directory: str | None = None, field_keys: dict | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES, cube: Cube | None = None,
               io: IOCounter | None = None, on_rows: Callable[[int], None] | None = None) -> Cube:
    """Stream the rows of `sel` once into a Cube (kept in `directory` when given), or into
    `cube` (whose blocks of these fields must have been dropped). field_keys: field -> key.
    on_rows: called with the number of rows of each chunk read (a progress bar).
    io: the run's I/O counter (the bytes this pass reads are added to it)."""
    io = io if io is not None else IOCounter()
    t0, b0 = time.perf_counter(), io.bytes_read
    if cube is None:
        if directory:
            if os.path.exists(directory):
                shutil.rmtree(directory)
            os.makedirs(directory)
        cube = Cube(CubeIndex(ms=md.name), directory)
    nant = len(md.antennas)
    fields = sorted(sel.fields) if sel.fields is not None else [f.id for f in md.fields]
    info = {f: FieldInfo(key=(field_keys or {}).get(f, ""), ant_good=[0.0] * nant,
                         ant_total=[0.0] * nant) for f in fields}
    stats = {f: [np.zeros(nant), np.zeros(nant), 0, 0] for f in fields}   # good, total, rows, bytes
    samples = {f: {} for f in fields}
    nonfinite = {f: {} for f in fields}
    chans: dict[int, set] = {}
    parts: list[dict] = []
    current = None
    for ch in iter_chunks(md, sel, column=column, max_bytes=max_bytes, with_model=model == "column", io=io):
        st = stats[ch.field_id]
        fr = 1.0 - ch.flag.mean(axis=(1, 2))
        for a in (ch.antenna1, ch.antenna2):
            st[0] += np.bincount(a, weights=fr, minlength=nant)
            st[1] += np.bincount(a, minlength=nant)
        st[2] += len(ch.rows)
        cube.index.autocorrelations |= bool((ch.antenna1 == ch.antenna2).any())
        st[3] += ch.nbytes
        samples[ch.field_id][ch.spw_id] = samples[ch.field_id].get(ch.spw_id, 0) + int(ch.data.size)
        if ch.nonfinite:
            nonfinite[ch.field_id][ch.spw_id] = nonfinite[ch.field_id].get(ch.spw_id, 0) + ch.nonfinite
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
        if on_rows is not None:
            on_rows(len(ch.rows))
    if parts:
        cube.add(_block(current, parts))
    ix = cube.index
    for s, c in chans.items():
        c = sorted(c)
        spw = md.spws[s]
        ix.spw_chan[s] = (float(spw.chan_freq[c].mean()), float(np.abs(spw.chan_width[c]).sum()))
    nbytes = io.bytes_read - b0
    total = sum(v[3] for v in stats.values()) or 1
    for f, (good, tot, rows, b) in stats.items():
        ix.fields[f] = FieldInfo(key=info[f].key, rows_read=rows, bytes_read=int(nbytes * b / total),
                                 ant_good=good.tolist(), ant_total=tot.tolist(), samples=samples[f],
                                 nonfinite=nonfinite[f])
    ix.passes.append({"fields": fields, "rows": sum(v[2] for v in stats.values()), "bytes": nbytes,
                      "seconds": time.perf_counter() - t0})
    cube.save()
    return cube


def _block(key, parts: list[dict]) -> Block:
    f, s, dd, scan = key
    cat = {k: (np.concatenate([p[k] for p in parts]) if k in parts[0] else None)
           for k in ("time", "antenna1", "antenna2", "uvw", "vis", "weight", "data", "wdata")}
    return Block(f, s, dd, scan, **cat)
