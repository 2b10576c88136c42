"""phaseup: phase-only gain solve per calibrator field and spw."""
from __future__ import annotations

from pydantic import Field

from ..context import CalEntry
from ..flux import solve_split
from ..gaincal import parse_solint
from ..qa import QAScore
from ..stage import Inputs, Results, Stage, record_inputs, register
from .common import calibrators, md_of, ref_antennas, solver_model, table_path


class PhaseupInputs(Inputs):
    phaseupsolint: str = Field("int", description="solution interval: 'int', 'inf', '30s', '2min'")
    gaintype: str = Field("G", pattern="^[GT]$", description="G: per polarisation; T: combined")
    minsnr: float = Field(2.0, ge=0, description="flag solutions below this SNR")
    minblperant: int = Field(4, ge=1, description="minimum unflagged baselines per antenna")


@register
class Phaseup(Stage):
    name = "phaseup"
    Inputs = PhaseupInputs
    description = "Phase-only gain solve of every calibrator (refant phase 0)"

    def run(self, context, ms, inputs, user):
        parse_solint(inputs.phaseupsolint)
        md = md_of(context, ms)
        st = context.ms[ms]
        out = table_path(context, ms, self.name)
        ct, _ = solve_split(md, out, calibrators(md), st.reference, ref_antennas(context, ms),
                            solint=inputs.phaseupsolint, calmode="p", gaintype=inputs.gaintype,
                            minsnr=inputs.minsnr, minblperant=inputs.minblperant,
                            refant_order=st.refants, model=solver_model(context, ms, md))
        frac = float(ct.flag.mean())
        qa = [QAScore(value=max(0.0, 1 - frac), short=f"{100 * frac:.1f} % of phase solutions flagged",
                      metric="flagged_fraction", metric_value=frac, ms=ms)]
        lib = [e for e in st.callibrary if e.stage != self.name] + [CalEntry(table=out, stage=self.name, gainfield="nearest")]
        return Results(stage=self.name, ms=ms, qa=qa, inputs=record_inputs(inputs, user, {}),
                       summary={"table": out, "solutions": int(ct.flag.size), "flagged": int(ct.flag.sum())},
                       updates={"callibrary": lib})
