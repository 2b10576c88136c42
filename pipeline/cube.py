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
one stage need no second pass; its `key` fingerprints what it was built from (MS, selection,
model, pre-applied tables) and a different key means a rebuild. Blocks stay in memory up to
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

MEMORY_BUDGET = 256 * 2**20
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
    file: str = ""


class CubeIndex(BaseModel):
    """index.json of a cube folder."""
    key: str = ""
    ms: str = ""
    fields: list[int] = Field(default_factory=list)
    blocks: list[BlockInfo] = Field(default_factory=list)
    spw_chan: dict[int, tuple[float, float]] = Field(default_factory=dict)  # spw -> (mean Hz, width Hz)
    ant_good: list[float] = Field(default_factory=list)    # unflagged samples per antenna
    ant_total: list[float] = Field(default_factory=list)
    rows_read: int = 0
    bytes_read: int = 0
    seconds: float = 0.0


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
        k = len(self.index.blocks)
        info = BlockInfo(field_id=block.field_id, spw_id=block.spw_id, ddid=block.ddid,
                         scan=block.scan, nrows=block.nrows)
        folder = self.directory or self._spill_dir()
        if folder is not None:
            info.file = f"b{k:05d}.npz"
            np.savez(os.path.join(folder, info.file),
                     **{a: getattr(block, a) for a in ARRAYS if getattr(block, a) is not None})
        self.index.blocks.append(info)
        if self._mem_bytes + block.nbytes <= self.budget:
            self._mem[k] = block
            self._mem_bytes += block.nbytes

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
    def open(cls, directory: str, key: str | None = None) -> "Cube | None":
        """The cube in `directory`, or None when absent, incomplete or built with another key."""
        p = os.path.join(directory, "index.json")
        if not os.path.exists(p):
            return None
        try:
            with open(p) as fh:
                index = CubeIndex.model_validate(json.load(fh))
        except (OSError, ValueError):
            return None
        if key is not None and index.key != key:
            return None
        if not all(os.path.exists(os.path.join(directory, b.file)) for b in index.blocks):
            return None
        return cls(index, directory)

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

    @property
    def nrows(self) -> int:
        return sum(b.nrows for b in self.index.blocks)

    def field_ids(self) -> list[int]:
        return sorted({b.field_id for b in self.index.blocks})

    def spw_ids(self) -> list[int]:
        return sorted({b.spw_id for b in self.index.blocks})

    def unflagged_fraction(self) -> np.ndarray:
        good, tot = np.asarray(self.index.ant_good), np.asarray(self.index.ant_total)
        return np.where(tot > 0, good / np.maximum(tot, 1), 0.0)
