"""A run's state for one MS: its metadata, its calibrator cube and what the run read and wrote.

The runner (fluxpipe.recipe) makes one Session per MS and hands it to every stage; nothing of
it lives in a module global, so several MSes may run in threads of one process (a dask worker
with several threads) without sharing counters or caches.

The calibrator cube is the one pass over the MS (fluxpipe.cube, fluxpipe.ms.onepass). The
runner builds it once, before the first stage that reads calibrator data, for every field any
stage of the recipe needs (`Session.one_pass`); later stages get the same cube from
`Session.cube`. A field whose blocks were built from something else (another model, other
pre-applied tables, an edited MS) is rebuilt by a pass over its rows alone.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from contextlib import contextmanager

from .calapply import Applier, ApplySpec
from .context import Context, CubeRef, MSState
from .cube import Cube
from .errors import NoDataError, PipelineError
from .ms import read_metadata, select
from .ms.metadata import MSMetadata, content_fingerprint, ms_content, table_stamp
from .ms.onepass import build_cube
from .ms.reader import IOCounter
from .skymodel import SourceModel, model_function

log = logging.getLogger(__name__)


def field_list(md: MSMetadata) -> str:
    """'name (intents), ...' for error messages."""
    return ", ".join(f"{f.name} ({','.join(sorted(f.intents)) or 'no intents'})" for f in md.fields)


def cube_fields(st: MSState) -> list[int]:
    """The fields the cube holds: references and transfer calibrators (never targets)."""
    return sorted({f.id for f in st.fields if f.role in ("reference", "transfer")})


def field_key(md: MSMetadata, storage: list, field_id: int, model: dict | None, spw: str,
              precal: list[dict]) -> str:
    """Fingerprint of what a field's cube blocks depend on: the MS's content (ms_content: every
    column's storage but MODEL_DATA's, the subtables), the field, its model (None: 1 Jy), the spw selection and the
    pre-applied tables."""
    doc = {"ms": md.path, "storage": storage, "nrows": md.nrows, "time_range": list(md.time_range),
           "field": field_id, "model": model, "spw": spw, "precal": precal, "version": 3}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


class Session:
    """One MS's run: `context`, `name`, `md` (re-read when the MS's table.dat changes), `io`
    (bytes read and written by this run), `cube()` (the one pass, kept open)."""

    def __init__(self, context: Context, name: str, md: MSMetadata | None = None):
        self.context = context
        self.name = name
        self.io = IOCounter()
        self._md = md
        self._stamp = table_stamp(md.path) if md is not None else None
        self._cube: Cube | None = None
        self.extra_fields: set[int] = set()     # fields stages asked for beyond cube_fields
        self.progress = None                    # a rich Progress on a terminal (recipe._progress), else None

    @contextmanager
    def rows_bar(self, what: str, total: int | None = None):
        """A progress line over rows ('<ms>: <what>'); yields advance(n), a no-op without a terminal."""
        if self.progress is None:
            yield lambda n: None
            return
        task = self.progress.add_task(f"{self.name}: {what}", total=total)
        try:
            yield lambda n: self.progress.advance(task, n)
        finally:
            self.progress.remove_task(task)

    @property
    def state(self) -> MSState:
        return self.context.ms[self.name]

    @property
    def md(self) -> MSMetadata:
        path = self.state.path if self._md is None else self._md.path
        stamp = table_stamp(path)
        if self._md is None or stamp != self._stamp:
            self._md, self._stamp = read_metadata(path), stamp
        return self._md

    def one_pass(self) -> CubeRef:
        """Build the cube for every field the recipe needs (references, transfer calibrators
        and any field a stage asked for), in one pass; a no-op when it is current."""
        return self.cube(fields=sorted(set(cube_fields(self.state)) | self.extra_fields))[1]

    def cube(self, fields: list[int] | None = None, models: dict[str, SourceModel] | None = None,
             spw: str | None = None) -> tuple[Cube, CubeRef]:
        """The MS's calibrator cube for `fields` (default: references and transfer fields).
        Blocks whose key matches are reused (from memory or disk); missing or stale fields
        are built by one pass over their rows only."""
        st = self.state
        md = self.md
        models = st.reference_models if models is None else models
        if not models:
            raise PipelineError("the calibrator cube needs the reference model; run setmodel first")
        fields = cube_fields(st) if fields is None else sorted(set(fields))
        if not fields:
            raise NoDataError(f"{md.name}: no calibrator fields to solve; fields: {field_list(md)}")
        spw = st.spw_selection if spw is None else spw
        storage = ms_content(md)
        pre = [e for e in st.callibrary if e.role == "precal"]
        precal = [{**e.model_dump(), "storage": content_fingerprint(e.table, ())} for e in pre]
        by_id = {md.field_by_name(n).id: m for n, m in models.items()}
        keys = {f: field_key(md, storage, f, by_id[f].model_dump() if f in by_id else None, spw, precal)
                for f in fields}
        rel = os.path.join("cube", self.name)
        folder = self.context.abspath(rel)
        cube = self._cube if self._cube is not None and self._cube.directory == folder else Cube.open(folder)
        stale = cube.stale(keys) if cube is not None else fields
        if stale:
            sel = select(md, field=",".join(map(str, stale)), spw=spw)
            specs = [ApplySpec.load(e.table, e.gainfield, e.interp, e.spwmap, calwt=e.calwt) for e in pre]
            apply = Applier.for_ms(specs, md).apply if specs else None
            with self.rows_bar("one pass (rows)", md.nrows) as advance:
                if cube is None:
                    cube = build_cube(md, sel, model=model_function(md, models), apply=apply, directory=folder,
                                      field_keys=keys, io=self.io, on_rows=advance)
                else:
                    cube.drop_fields(stale)
                    build_cube(md, sel, model=model_function(md, models), apply=apply, field_keys=keys,
                               cube=cube, io=self.io, on_rows=advance)
            p = cube.index.passes[-1]
            log.info("%s: one pass over %d rows of fields %s (%.0f MB) in %.2f s", self.name, p["rows"],
                     ",".join(md.fields[f].name for f in stale), p["bytes"] / 1e6, p["seconds"])
        self._cube = cube
        info = [cube.index.fields[f] for f in fields if f in cube.index.fields]
        return cube, CubeRef(folder=rel, keys=keys, rows=sum(i.rows_read for i in info),
                             bytes_read=sum(i.bytes_read for i in info),
                             seconds=sum(p["seconds"] for p in cube.index.passes))

    def close(self) -> None:
        if self._cube is not None:
            self._cube.close()
            self._cube = None
