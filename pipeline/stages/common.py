"""What the stages share: solving on the cube, tables by role, artefacts (the cube itself and the
MS's metadata come from the run's Session, fluxpipe.session)."""
from __future__ import annotations

import logging
import os
from typing import Annotated, Literal

import numpy as np
from pydantic import AfterValidator, Field

from ..calapply import ApplySpec
from ..calsolve import SolveSpec, solve_cube
from ..caltable import CalTable, write_caltable
from ..context import CalEntry, Context, Role
from ..cube import Cube
from ..errors import NoDataError, PipelineError
from ..gaincal import parse_solint
from ..heuristics.constants import C_LIGHT
from ..heuristics.derived import hand_amplitudes
from ..qa import flagged_fraction
from ..session import Session, cube_fields, field_list  # noqa: F401  (the stages' imports)
from ..stage import Inputs, Results, Stage, Summary, record_inputs

log = logging.getLogger(__name__)


def _check_solint(v: str) -> str:
    try:
        parse_solint(v)
    except PipelineError as exc:
        raise ValueError(str(exc)) from None
    return v


# a solution interval, checked when the recipe loads ('int', 'inf', '30s', '2min', '0.5h')
Solint = Annotated[str, AfterValidator(_check_solint)]


class SolveSummary(Summary):
    """A gain solve's table and how many of its solutions are flagged."""
    table: str
    solutions: int
    flagged: int
    reference_minblperant: int | None = None   # on a resolved reference's antenna subset


class SolveInputs(Inputs):
    """Parameters shared by the gain-solving stages (phaseup, ampsolve)."""
    minsnr: float = Field(2.0, ge=0, description="flag solutions below this SNR")
    minblperant: int = Field(4, ge=1, description="minimum unflagged baselines per antenna")
    solver: Literal["converged", "casa"] = Field("converged", description="'converged': each interval iterated to its least-squares solution; 'casa': CASA 6's iterations and stopping rule (its SNRs, so its minsnr flags, at low SNR)")


def check_minblperant(stage: str, minblperant: int, md) -> None:
    """An antenna has nant - 1 baselines: a larger minblperant would flag every solution."""
    n = len(md.antennas)
    if minblperant > n - 1:
        raise PipelineError(f"{stage}.minblperant={minblperant} exceeds the {n - 1} baselines an antenna of "
                            f"{md.name} has ({n} antennas); give at most {n - 1}")


def uv_amplitudes(b, vis: np.ndarray, weight: np.ndarray):
    """(rows with weight, their uv distance in m, amplitude, summed weight) of a cube block's
    `vis`: the one amplitude-vs-uv computation of the disk fit and the plots (the hands averaged
    in amplitude, heuristics.derived.hand_amplitudes)."""
    amp, iw, ok = hand_amplitudes(vis, weight)
    return ok, np.hypot(b.uvw[ok, 0], b.uvw[ok, 1]), amp, iw


def reference_uv_data(cube: Cube, field_id: int, divided: bool = False):
    """Amplitudes of a field for the disk-size fit, one per baseline and group (scan x spw):
    (q [wavelengths], |V|, sigma, antenna1, antenna2, group). Both hands are averaged with their
    weights; the amplitudes of a baseline's rows in a scan (uv distance and gains change little
    in one scan) are averaged with weights 1/sigma^2. divided: the model-divided averages (what
    the model leaves). None without rows."""
    out = {k: [] for k in ("q", "amp", "sigma", "a1", "a2", "grp")}
    groups: dict = {}
    for b in cube.blocks(fields=[field_id]):
        ok, uv, amp, iw = uv_amplitudes(b, *((b.vis, b.weight) if divided else b.raw()))   # iw = 1/sigma^2
        if not ok.any():
            continue
        q = uv * cube.index.spw_chan[b.spw_id][0] / C_LIGHT
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


def apply_spec(context: Context, e: CalEntry, gainfield: str | None = None, interp: str | None = None,
               noise_bias: bool = False, flagged: str = "interpolate") -> ApplySpec:
    return ApplySpec.load(context.abspath(e.table), e.gainfield if gainfield is None else gainfield,
                          e.interp if interp is None else interp, e.spwmap, noise_bias=noise_bias, flagged=flagged)


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


def resolved_subset(md, st, minblperant: int) -> tuple[dict | None, int | None]:
    """The reference's resolved antennas ({field id: antennas}, or None for all) and the
    minblperant on them, which follows their number (ALMA: 2)."""
    if not st.resolved.antennas:
        return None, None
    return ({md.field_by_name(st.reference).id: st.resolved.antennas},
            min(minblperant, max(2, len(st.resolved.antennas) - 1)))


def write_solutions(context: Context, ms: str, stage: str, ct: CalTable, md, cube, inputs) -> str:
    """Write a solving stage's table as OUTDIR/<ms>.<stage>.tbl (its relative path); a table
    without one unflagged solution is a one-line error instead."""
    if not (~ct.flag).any():
        raise NoDataError(f"no unflagged {stage} solutions in {ms}: all data flagged, below "
                          f"minsnr={inputs.minsnr} or with fewer than minblperant={inputs.minblperant} baselines "
                          f"per antenna; check flags or lower {stage}.minsnr")
    rel = f"{ms}.{stage}.tbl"
    write_caltable(context.abspath(rel), ct, md.path, cube.index.spw_chan)
    return rel


def solve_stage(stage, s: Session, inputs, user, role: Role, solint: str,
                calmode: str, pre_role: Role | None = None) -> Results:
    """Shared body of the gain-solving stages: solve on the cube (reference field on its
    resolved antennas), score the flagged fraction, register the table under `role`."""
    context, ms, md, st = s.context, s.name, s.md, s.state
    check_minblperant(stage.name, inputs.minblperant, md)
    debias = bool(getattr(inputs, "debias", False))
    pre = [apply_spec(context, needs(context, ms, pre_role, stage.name), noise_bias=debias,
                      flagged=getattr(inputs, "flagged_solutions", "interpolate"))] if pre_role else []
    cube, ref = s.cube()
    ants, ref_mbl = resolved_subset(md, st, inputs.minblperant)
    fields = cube_fields(st)
    spec = SolveSpec(parse_solint(solint), False, inputs.gaintype, calmode, inputs.minblperant,
                     inputs.minsnr, debias=debias, solver=inputs.solver)
    ct = solve_cube(cube, md, spec, st.refants, fields=fields, pre=pre, antennas=ants,
                    minblperant={k: ref_mbl for k in ants} if ants else None)
    rel = write_solutions(context, ms, stage.name, ct, md, cube, inputs)
    frac = float(ct.flag.mean())
    kind = "phase" if calmode == "p" else "amplitude"
    qa = [flagged_fraction(ms, frac, kind)]
    lib = [e for e in st.callibrary if e.role != role] + [
        CalEntry(role=role, table=rel, stage=stage.name, gainfield="nearest", debiased=debias)]
    return Results(stage=stage.name, ms=ms, qa=qa, inputs=record_inputs(inputs, user, {}),
                   summary=SolveSummary(table=rel, solutions=int(ct.flag.size), flagged=int(ct.flag.sum()),
                                        reference_minblperant=ref_mbl),
                   artefacts={"solutions": solutions_artefact(context, ms, stage.name, ct)},
                   updates={"callibrary": lib, "cube": ref})


class SolveStage(Stage):
    """A gain-solving stage on the cube: its table registered under `role`, solved with
    `calmode` ('p' or 'a') at the solint its Inputs name `solint_input`, with the `pre_role`
    table applied first; its page plots the gains against time."""
    Summary = SolveSummary
    uses_cube = True
    role: Role
    calmode: str
    solint_input: str
    pre_role: Role | None = None

    def plots(self, rec, st, outdir, base, abspath):
        from ..weblog.plots import gain_per_antenna, gain_vs_time
        npz = abspath(rec.artefacts["solutions"])
        if self.calmode == "p":
            return gain_vs_time(npz, outdir, base, "phase")
        return gain_vs_time(npz, outdir, base, "amplitude") + gain_per_antenna(npz, outdir, base)

    def run(self, s, inputs, user):
        return solve_stage(self, s, inputs, user, role=self.role, solint=getattr(inputs, self.solint_input),
                           calmode=self.calmode, pre_role=self.pre_role)
