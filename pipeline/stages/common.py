"""What the stages share: the calibrators, the cube (built once, reused), solving on it, artefacts."""
from __future__ import annotations

import hashlib
import json
import logging
import os

from typing import Annotated

import numpy as np
from pydantic import AfterValidator, Field

from ..heuristics.derived import hand_amplitudes
from ..calapply import Applier, ApplySpec
from ..calsolve import SolveSpec, solve_cube
from ..caltable import CalTable, write_caltable
from ..context import CalEntry, Context, CubeRef, Role
from ..cube import Cube
from ..errors import NoDataError, PipelineError
from ..gaincal import parse_solint
from ..ms import read_metadata, select
from ..ms.metadata import MSMetadata, content_fingerprint
from ..ms.onepass import build_cube
from ..qa import QAScore
from ..skymodel import SourceModel, model_function
from ..stage import Inputs, Results, record_inputs

log = logging.getLogger(__name__)
_OPEN: dict[str, Cube] = {}     # cube folder -> the Cube opened in this process


def _check_solint(v: str) -> str:
    try:
        parse_solint(v)
    except PipelineError as exc:
        raise ValueError(str(exc)) from None
    return v


# a solution interval, checked when the recipe loads ('int', 'inf', '30s', '2min', '0.5h')
Solint = Annotated[str, AfterValidator(_check_solint)]


class SolveInputs(Inputs):
    """Parameters shared by the gain-solving stages (phaseup, ampsolve)."""
    minsnr: float = Field(2.0, ge=0, description="flag solutions below this SNR")
    minblperant: int = Field(4, ge=1, description="minimum unflagged baselines per antenna")


def md_of(context: Context, ms: str) -> MSMetadata:
    return read_metadata(context.ms[ms].path)


def field_list(md: MSMetadata) -> str:
    """'name (intents), ...' for error messages."""
    return ", ".join(f"{f.name} ({','.join(sorted(f.intents)) or 'no intents'})" for f in md.fields)


def field_key(md: MSMetadata, storage: list, field_id: int, model: dict | None, spw: str,
              precal: list[dict]) -> str:
    """Fingerprint of what a field's cube blocks depend on: the MS's content (every column's
    storage but MODEL_DATA's), the field, its model (None: 1 Jy), the spw selection and the
    pre-applied tables."""
    doc = {"ms": md.path, "storage": storage, "nrows": md.nrows, "time_range": list(md.time_range),
           "field": field_id, "model": model, "spw": spw, "precal": precal, "version": 2}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def cube_fields(st) -> list[int]:
    """The fields the cube holds: references and transfer calibrators (never targets)."""
    return sorted({f.id for f in st.fields if f.role in ("reference", "transfer")})


def open_cube(context: Context, ms: str, md: MSMetadata | None = None, fields: list[int] | None = None,
              models: dict[str, SourceModel] | None = None, spw: str | None = None) -> tuple[Cube, CubeRef]:
    """The MS's calibrator cube for `fields` (default: references and transfer fields). Blocks
    whose key matches are reused (from memory or disk); missing or stale fields are built by
    one pass over their rows only."""
    st = context.ms[ms]
    models = st.reference_models if models is None else models
    if not models:
        raise PipelineError("the calibrator cube needs the reference model; run setmodel first")
    md = md or md_of(context, ms)
    fields = cube_fields(st) if fields is None else sorted(set(fields))
    if not fields:
        raise NoDataError(f"{md.name}: no calibrator fields to solve; fields: {field_list(md)}")
    spw = st.spw_selection if spw is None else spw
    storage = content_fingerprint(md.path)
    pre = [e for e in st.callibrary if e.role == "precal"]
    precal = [{**e.model_dump(), "storage": content_fingerprint(e.table, ())} for e in pre]
    by_id = {md.field_by_name(n).id: m for n, m in models.items()}
    keys = {f: field_key(md, storage, f, by_id[f].model_dump() if f in by_id else None, spw, precal)
            for f in fields}
    rel = os.path.join("cube", ms)
    folder = context.abspath(rel)
    cube = _OPEN.get(folder) or Cube.open(folder)
    stale = cube.stale(keys) if cube is not None else fields
    if stale:
        sel = select(md, field=",".join(map(str, stale)), spw=spw)
        specs = [ApplySpec.load(e.table, e.gainfield, e.interp, e.spwmap, calwt=e.calwt) for e in pre]
        apply = Applier(specs, len(md.antennas), np.array([[f.ra, f.dec] for f in md.fields])).apply \
            if specs else None
        if cube is None:
            cube = build_cube(md, sel, model=model_function(md, models), apply=apply, directory=folder,
                              field_keys=keys)
        else:
            cube.drop_fields(stale)
            build_cube(md, sel, model=model_function(md, models), apply=apply, field_keys=keys, cube=cube)
        p = cube.index.passes[-1]
        log.info("%s: one pass over %d rows of fields %s (%.0f MB) in %.2f s", ms, p["rows"],
                 ",".join(md.fields[f].name for f in stale), p["bytes"] / 1e6, p["seconds"])
    _OPEN[folder] = cube
    info = [cube.index.fields[f] for f in fields if f in cube.index.fields]
    return cube, CubeRef(folder=rel, keys=keys, rows=sum(i.rows_read for i in info),
                         bytes_read=sum(i.bytes_read for i in info),
                         seconds=sum(p["seconds"] for p in cube.index.passes))


def reference_uv_data(cube: Cube, field_id: int, divided: bool = False):
    """Amplitudes of a field for the disk-size fit, one per baseline and group (scan x spw):
    (q [wavelengths], |V|, sigma, antenna1, antenna2, group). Both hands are averaged with their
    weights; the amplitudes of a baseline's rows in a scan (uv distance and gains change little
    in one scan) are averaged with weights 1/sigma^2. divided: the model-divided averages (what
    the model leaves). None without rows."""
    out = {k: [] for k in ("q", "amp", "sigma", "a1", "a2", "grp")}
    groups: dict = {}
    for b in cube.blocks(fields=[field_id]):
        amp, iw, ok = hand_amplitudes(*((b.vis, b.weight) if divided else b.raw()))   # iw = 1/sigma^2
        if not ok.any():
            continue
        freq = cube.index.spw_chan[b.spw_id][0]
        q = np.hypot(b.uvw[ok, 0], b.uvw[ok, 1]) * freq / 299792458.0
        a1, a2 = b.antenna1[ok], b.antenna2[ok]
        bl, inv = np.unique(a1.astype(np.int64) * 100000 + a2, return_inverse=True)
        sw = np.bincount(inv, iw)
        out["q"].append(np.bincount(inv, iw * q) / sw)
        out["amp"].append(np.bincount(inv, iw * amp) / sw)
        out["sigma"].append(1 / np.sqrt(sw))
        out["a1"].append(bl // 100000)
        out["a2"].append(bl % 100000)
        out["grp"].append(np.full(len(bl), groups.setdefault((b.scan, b.spw_id), len(groups))))
    if not out["q"]:
        return None
    return tuple(np.concatenate(out[k]) for k in ("q", "amp", "sigma", "a1", "a2", "grp"))


def apply_spec(context: Context, e: CalEntry, gainfield: str | None = None, interp: str | None = None) -> ApplySpec:
    return ApplySpec.load(context.abspath(e.table), e.gainfield if gainfield is None else gainfield,
                          e.interp if interp is None else interp, e.spwmap)


def needs(context: Context, ms: str, role: Role, stage: str) -> CalEntry:
    e = context.ms[ms].calibration(role)
    if e is None:
        raise PipelineError(f"{stage} needs a {role} table in the calibration library; run the "
                            f"stage that makes it first")
    return e


def save_artefact(context: Context, ms: str, name: str, **arrays) -> str:
    """Arrays for the weblog's plots, saved by the stage that owns the numbers."""
    rel = os.path.join("artefacts", f"{ms}.{name}.npz")
    os.makedirs(os.path.dirname(context.abspath(rel)), exist_ok=True)
    np.savez(context.abspath(rel), **arrays)
    return rel


def solutions_artefact(context: Context, ms: str, name: str, ct: CalTable) -> str:
    return save_artefact(context, ms, name, time=ct.time, field=ct.field_id, spw=ct.spw_id,
                         antenna=ct.antenna1, cparam=ct.cparam[:, 0, :], flag=ct.flag[:, 0, :],
                         antenna_names=np.array(ct.antenna_names or [], str),
                         field_names=np.array(ct.field_names or [], str))


def solve_stage(stage, context: Context, ms: str, inputs, user, role: Role, solint: str,
                calmode: str, pre_role: Role | None = None) -> Results:
    """Shared body of the gain-solving stages: solve on the cube (reference field on its
    resolved antennas), score the flagged fraction, register the table under `role`."""
    md = md_of(context, ms)
    st = context.ms[ms]
    pre = [apply_spec(context, needs(context, ms, pre_role, stage.name))] if pre_role else []
    cube, ref = open_cube(context, ms, md)
    ants = {md.field_by_name(st.reference).id: st.resolved.antennas} if st.resolved.antennas else None
    fields = cube_fields(st)
    spec = SolveSpec(parse_solint(solint), False, inputs.gaintype, calmode, inputs.minblperant,
                     inputs.minsnr)
    ct = solve_cube(cube, md, spec, st.refants, fields=fields, pre=pre, antennas=ants)
    if not (~ct.flag).any():
        raise NoDataError(f"no unflagged {stage.name} solutions in {ms}: all data flagged or below "
                          f"minsnr={inputs.minsnr}; check flags or lower {stage.name}.minsnr")
    rel = f"{ms}.{stage.name}.tbl"
    write_caltable(context.abspath(rel), ct, md.path, cube.index.spw_chan)
    frac = float(ct.flag.mean())
    kind = "phase" if calmode == "p" else "amplitude"
    qa = [QAScore(value=max(0.0, 1 - frac), short=f"{100 * frac:.1f} % of {kind} solutions flagged",
                  metric="flagged_fraction", metric_value=frac, ms=ms)]
    lib = [e for e in st.callibrary if e.role != role] + [
        CalEntry(role=role, table=rel, stage=stage.name, gainfield="nearest")]
    return Results(stage=stage.name, ms=ms, qa=qa, inputs=record_inputs(inputs, user, {}),
                   summary={"table": rel, "solutions": int(ct.flag.size), "flagged": int(ct.flag.sum())},
                   artefacts={"solutions": solutions_artefact(context, ms, stage.name, ct)},
                   updates={"callibrary": lib, "cube": ref})
