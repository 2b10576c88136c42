"""The calibrator cube: what one pass over an MS's calibrator rows leaves for every later stage.

For each (field, data description, scan) block of calibrator rows the pass divides the data by
the model per channel, applies the pre-applied tables per channel and keeps, per row and per
parallel hand (polarisation 0 = XX/RR, 1 = YY/LL):

    vis    = sum_c w_c |M_c|^2 (V_c / M_c) / sum_c w_c |M_c|^2   (model-divided average)
    weight = sum_c w_c |M_c|^2                                     (0: no unflagged data)
    data, wdata: the same without the model (only stored where the model is not 1 Jy)

plus time, antenna1/2, uvw and scan. Phase-only and amplitude gains do not depend on channel,
so solving on `vis` with `weight` is exactly what gaincal does on the channels, and applying a
gain table to a block is exactly applying it to every channel. The cube also keeps, per
antenna, the unflagged fraction of its samples (the refant ranking's input) and, per spw, the
mean frequency and summed width of the channels used (a caltable's SPECTRAL_WINDOW).

A cube lives in a folder (index.json + one .npz per block) so that `--resume` and the rerun of
one stage need no second pass. Each field has its own key, a fingerprint of what its blocks
were built from (MS content, spw selection, the field's model, pre-applied tables): a changed
reference model rebuilds only the reference field's blocks, by a pass over its rows alone. Blocks stay in memory up to
`MEMORY_BUDGET` bytes; beyond that they are read back from the folder one at a time, so memory
does not grow with the length of the MS.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from pydantic import BaseModel, Field

MEMORY_BUDGET = 128 * 2**20
ARRAYS = ("time", "antenna1", "antenna2", "uvw", "vis", "weight", "data", "wdata")


@dataclass
class Block:
    """Channel-averaged calibrator rows of one field, data description and scan."""
    field_id: int
    spw_id: int
    ddid: int
    scan: int
    time: np.ndarray        # (n,) MJD seconds
    antenna1: np.ndarray    # (n,) int32, cross-correlations only
    antenna2: np.ndarray
    uvw: np.ndarray         # (n, 3) metres
    vis: np.ndarray         # (n, 2) complex128, model-divided
    weight: np.ndarray      # (n, 2) float64
    data: np.ndarray | None = None    # (n, 2) raw average where the model is not 1 Jy
    wdata: np.ndarray | None = None

    @property
    def nrows(self) -> int:
        return len(self.time)

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, a).nbytes for a in ARRAYS if getattr(self, a) is not None)

    def raw(self) -> tuple[np.ndarray, np.ndarray]:
        """(visibility, weight) without the model division."""
        return (self.vis, self.weight) if self.data is None else (self.data, self.wdata)

    def select(self, mask: np.ndarray) -> "Block":
        kw = {a: (getattr(self, a)[mask] if getattr(self, a) is not None else None) for a in ARRAYS}
        return Block(self.field_id, self.spw_id, self.ddid, self.scan, **kw)


class BlockInfo(BaseModel):
    field_id: int
    spw_id: int
    ddid: int
    scan: int
    nrows: int
    nvalid: int = 0                # rows with unflagged data
    file: str = ""


class FieldInfo(BaseModel):
    """What one field's blocks were built from and what building them cost."""
    key: str
    rows_read: int = 0             # MS rows of the field read (autocorrelations included)
    bytes_read: int = 0
    ant_good: list[float] = Field(default_factory=list)    # unflagged samples per antenna
    ant_total: list[float] = Field(default_factory=list)
    samples: dict[int, int] = Field(default_factory=dict)     # spw -> visibility samples read
    nonfinite: dict[int, int] = Field(default_factory=dict)   # spw -> of those, not finite (flagged)


class CubeIndex(BaseModel):
    """index.json of a cube folder."""
    ms: str = ""
    fields: dict[int, FieldInfo] = Field(default_factory=dict)
    blocks: list[BlockInfo] = Field(default_factory=list)
    spw_chan: dict[int, tuple[float, float]] = Field(default_factory=dict)  # spw -> (mean Hz, width Hz)
    autocorrelations: bool = False  # the rows read included autocorrelations (dropped from the blocks)
    passes: list[dict] = Field(default_factory=list)      # {fields, rows, bytes, seconds} per pass

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.fields.values())

    @property
    def bytes_read(self) -> int:
        return sum(f.bytes_read for f in self.fields.values())


class Cube:
    """The blocks of one pass; see the module doc."""

    def __init__(self, index: CubeIndex, directory: str | None = None,
                 budget: int = MEMORY_BUDGET):
        self.index = index
        self.directory = directory
        self.budget = budget
        self._mem: dict[int, Block] = {}
        self._mem_bytes = 0
        self._tmp: str | None = None

    # -- building ---------------------------------------------------------------------------
    def add(self, block: Block) -> None:
        k = max([-1] + [int(b.file[1:6]) for b in self.index.blocks if b.file]) + 1 \
            if self.directory else len(self.index.blocks)
        info = BlockInfo(field_id=block.field_id, spw_id=block.spw_id, ddid=block.ddid,
                         scan=block.scan, nrows=block.nrows,
                         nvalid=int((block.weight.sum(axis=1) > 0).sum()))
        folder = self.directory or self._spill_dir()
        if folder is not None:
            info.file = f"b{k:05d}.npz"
            np.savez(os.path.join(folder, info.file),
                     **{a: getattr(block, a) for a in ARRAYS if getattr(block, a) is not None})
        self.index.blocks.append(info)
        if self._mem_bytes + block.nbytes <= self.budget:
            self._mem[len(self.index.blocks) - 1] = block
            self._mem_bytes += block.nbytes

    def drop_fields(self, fields) -> None:
        """Forget the blocks of `fields` (files removed), e.g. before rebuilding them."""
        fields = set(fields)
        keep = [(k, b) for k, b in enumerate(self.index.blocks) if b.field_id not in fields]
        for b in self.index.blocks:
            if b.field_id in fields and b.file and self.directory:
                p = os.path.join(self.directory, b.file)
                if os.path.exists(p):
                    os.remove(p)
        self._mem = {new: self._mem[old] for new, (old, _) in enumerate(keep) if old in self._mem}
        self._mem_bytes = sum(b.nbytes for b in self._mem.values())
        self.index.blocks = [b for _, b in keep]
        for f in fields:
            self.index.fields.pop(f, None)

    def _spill_dir(self) -> str | None:
        """A folder for an in-memory cube once it outgrows the budget (removed by close())."""
        if self._mem_bytes < self.budget // 2:
            return None
        if self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="fluxpipe-cube-")
            for k, b in list(self._mem.items()):   # earlier blocks go to disk too
                self.index.blocks[k].file = f"b{k:05d}.npz"
                np.savez(os.path.join(self._tmp, self.index.blocks[k].file),
                         **{a: getattr(b, a) for a in ARRAYS if getattr(b, a) is not None})
        return self._tmp

    def save(self) -> None:
        if self.directory:
            tmp = os.path.join(self.directory, "index.json.tmp")
            with open(tmp, "w") as fh:
                fh.write(self.index.model_dump_json())
            os.replace(tmp, os.path.join(self.directory, "index.json"))

    def close(self) -> None:
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # -- reading ----------------------------------------------------------------------------
    @classmethod
    def open(cls, directory: str) -> "Cube | None":
        """The cube in `directory`, or None when absent or incomplete (a block file missing)."""
        p = os.path.join(directory, "index.json")
        if not os.path.exists(p):
            return None
        try:
            with open(p) as fh:
                index = CubeIndex.model_validate(json.load(fh))
        except (OSError, ValueError):
            return None
        if not all(os.path.exists(os.path.join(directory, b.file)) for b in index.blocks):
            return None
        return cls(index, directory)

    def stale(self, keys: dict[int, str]) -> list[int]:
        """Fields of `keys` whose blocks are missing or were built from something else."""
        return sorted(f for f, k in keys.items()
                      if f not in self.index.fields or self.index.fields[f].key != k)

    def block(self, k: int) -> Block:
        if k in self._mem:
            return self._mem[k]
        info = self.index.blocks[k]
        folder = self.directory or self._tmp
        with np.load(os.path.join(folder, info.file)) as z:
            arrays = {a: (z[a] if a in z.files else None) for a in ARRAYS}
        b = Block(info.field_id, info.spw_id, info.ddid, info.scan, **arrays)
        if self._mem_bytes + b.nbytes <= self.budget:
            self._mem[k] = b
            self._mem_bytes += b.nbytes
        return b

    def blocks(self, fields=None, spws=None) -> Iterator[Block]:
        """Blocks in pass order (field, data description, scan), optionally of some fields/spws."""
        for k, info in enumerate(self.index.blocks):
            if fields is not None and info.field_id not in fields:
                continue
            if spws is not None and info.spw_id not in spws:
                continue
            yield self.block(k)

    def spw_ids(self) -> list[int]:
        return sorted({b.spw_id for b in self.index.blocks})

    def unflagged_fraction(self, fields=None) -> np.ndarray:
        """Per antenna, the unflagged fraction of its samples in the fields' rows (all fields)."""
        infos = [i for f, i in self.index.fields.items() if fields is None or f in fields]
        good = np.sum([i.ant_good for i in infos], axis=0) if infos else np.zeros(0)
        tot = np.sum([i.ant_total for i in infos], axis=0) if infos else np.zeros(0)
        return np.where(tot > 0, good / np.maximum(tot, 1), 0.0)

    def valid_rows(self, field_id: int, spw_id: int) -> tuple[int, int]:
        """(rows, rows with unflagged data) of a field and spw."""
        bs = [b for b in self.index.blocks if b.field_id == field_id and b.spw_id == spw_id]
        return sum(b.nrows for b in bs), sum(b.nvalid for b in bs)
