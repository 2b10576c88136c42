"""Helpers shared by the stages."""
from __future__ import annotations

import os

from pydantic import Field

from ..context import CalEntry, Context
from ..stage import Inputs
from ..flux import CAL_INTENTS, SourceModel, model_function
from ..ms import read_metadata


class SolveInputs(Inputs):
    """Parameters shared by the gain-solving stages (phaseup, ampsolve)."""
    minsnr: float = Field(2.0, ge=0, description="flag solutions below this SNR")
    minblperant: int = Field(4, ge=1, description="minimum unflagged baselines per antenna")


def md_of(context: Context, ms: str):
    return read_metadata(context.ms[ms].path)


def table_path(context: Context, ms: str, stage: str) -> str:
    return os.path.join(context.outdir, f"{ms}.{stage}.tbl")


def calibrators(md) -> list[str]:
    return [f.name for f in md.fields if f.intents & set(CAL_INTENTS)]


def solver_model(context: Context, ms: str, md):
    st = context.ms[ms]
    models = {st.reference: SourceModel(**st.reference_model)} if st.reference_model else {}
    return model_function(md, models)


def ref_antennas(context: Context, ms: str) -> list[int]:
    return list(context.ms[ms].resolved.get("antennas", []))


def solve_stage(stage, context: Context, ms: str, inputs, user, pre_stages: tuple[str, ...] = (),
                **solve):
    """Shared body of the gain-solving stages: solve (reference field on its resolved antennas),
    score the flagged fraction, and put the table in the calibration library."""
    from ..errors import PipelineError
    from ..flux import solve_split
    from ..qa import QAScore
    from ..stage import Results, record_inputs
    md = md_of(context, ms)
    st = context.ms[ms]
    pre = [e for e in st.callibrary if e.stage in pre_stages]
    missing = [p for p in pre_stages if p not in {e.stage for e in pre}]
    if missing:
        raise PipelineError(f"{stage.name} needs the {missing[0]} table; run {missing[0]} first")
    out = table_path(context, ms, stage.name)
    if pre:
        solve.update(gaintable=[e.table for e in pre], gainfield=[e.gainfield for e in pre],
                     interp=[e.interp for e in pre])
    ct, _ = solve_split(md, out, calibrators(md), st.reference, ref_antennas(context, ms),
                        minsnr=inputs.minsnr, minblperant=inputs.minblperant, gaintype=inputs.gaintype,
                        refant_order=st.refants, model=solver_model(context, ms, md), **solve)
    frac = float(ct.flag.mean())
    kind = "phase" if solve.get("calmode") == "p" else "amplitude"
    qa = [QAScore(value=max(0.0, 1 - frac), short=f"{100 * frac:.1f} % of {kind} solutions flagged",
                  metric="flagged_fraction", metric_value=frac, ms=ms)]
    lib = [e for e in st.callibrary if e.stage != stage.name] + [
        CalEntry(table=out, stage=stage.name, gainfield="nearest")]
    return Results(stage=stage.name, ms=ms, qa=qa, inputs=record_inputs(inputs, user, {}),
                   summary={"table": out, "solutions": int(ct.flag.size), "flagged": int(ct.flag.sum())},
                   updates={"callibrary": lib})
