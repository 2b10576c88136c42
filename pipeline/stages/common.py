"""What the stages share: the calibrators, the cube (built once, reused), solving on it, artefacts."""
from __future__ import annotations

import hashlib
import json
import logging
import os

import numpy as np
from pydantic import Field

from ..calapply import ApplySpec
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
from ..skymodel import model_function
from ..stage import Inputs, Results, record_inputs

log = logging.getLogger(__name__)
CAL_INTENTS = ("AMPLITUDE", "BANDPASS", "PHASE", "CHECK", "POLARIZATION", "DIFFGAIN")
_OPEN: dict[str, Cube] = {}     # cube folder -> the Cube opened in this process


class SolveInputs(Inputs):
    """Parameters shared by the gain-solving stages (phaseup, ampsolve)."""
    minsnr: float = Field(2.0, ge=0, description="flag solutions below this SNR")
    minblperant: int = Field(4, ge=1, description="minimum unflagged baselines per antenna")


def md_of(context: Context, ms: str) -> MSMetadata:
    return read_metadata(context.ms[ms].path)


def calibrators(md: MSMetadata) -> list[str]:
    return [f.name for f in md.fields if f.intents & set(CAL_INTENTS)]


def cube_key(md: MSMetadata, fields: list[int], model: dict, precal: list[dict]) -> str:
    """Fingerprint of what the cube depends on: the MS's content (every column's storage but
    MODEL_DATA's), the selection, the reference model and the pre-applied tables."""
    doc = {"ms": md.path, "storage": content_fingerprint(md.path), "nrows": md.nrows,
           "time_range": list(md.time_range), "fields": fields, "spw": "",
           "model": model, "precal": precal, "version": 1}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def open_cube(context: Context, ms: str, md: MSMetadata | None = None) -> tuple[Cube, CubeRef]:
    """The MS's calibrator cube: reused when its key matches (in memory or on disk), else built
    by one pass over the calibrator rows."""
    st = context.ms[ms]
    if st.reference_model is None:
        raise PipelineError("the calibrator cube needs the reference model; run setmodel first")
    md = md or md_of(context, ms)
    fields = [md.field_by_name(f).id for f in calibrators(md)]
    if not fields:
        raise NoDataError(f"{md.name} has no calibrator fields (intents {', '.join(CAL_INTENTS)})")
    key = cube_key(md, fields, st.reference_model.model_dump(), [])
    rel = os.path.join("cube", ms)
    folder = context.abspath(rel)
    cube = _OPEN.get(folder)
    if cube is None or cube.index.key != key:
        cube = Cube.open(folder, key)
    if cube is None:
        models = {st.reference: st.reference_model}
        cube = build_cube(md, select(md, field=",".join(map(str, fields))),
                          model=model_function(md, models), directory=folder, key=key)
        log.info("%s: one pass over %d calibrator rows (%.0f MB) in %.2f s", ms, cube.index.rows_read,
                 cube.index.bytes_read / 1e6, cube.index.seconds)
    _OPEN[folder] = cube
    ix = cube.index
    return cube, CubeRef(folder=rel, key=key, rows=ix.rows_read, bytes_read=ix.bytes_read,
                         seconds=ix.seconds)


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
    spec = SolveSpec(parse_solint(solint), False, inputs.gaintype, calmode, inputs.minblperant,
                     inputs.minsnr)
    ct = solve_cube(cube, md, spec, st.refants, fields=cube.field_ids(), pre=pre, antennas=ants)
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
