"""ampsolve: amplitude-only gain solve (T) with the phase-up pre-applied."""
from __future__ import annotations

from pydantic import Field

from ..context import CalEntry
from ..errors import PipelineError
from ..flux import solve_split
from ..qa import QAScore
from ..stage import Inputs, Results, Stage, record_inputs, register
from .common import calibrators, md_of, ref_antennas, solver_model, table_path


class AmpsolveInputs(Inputs):
    solint: str = Field("inf", description="solution interval ('inf' = per scan)")
    gaintype: str = Field("T", pattern="^[GT]$", description="T: polarisations combined; G: per polarisation")
    minsnr: float = Field(2.0, ge=0, description="flag solutions below this SNR")
    minblperant: int = Field(4, ge=1, description="minimum unflagged baselines per antenna")


@register
class Ampsolve(Stage):
    name = "ampsolve"
    Inputs = AmpsolveInputs
    description = "Amplitude-only gain solve against the reference model / 1 Jy point sources"

    def run(self, context, ms, inputs, user):
        md = md_of(context, ms)
        st = context.ms[ms]
        pre = [e for e in st.callibrary if e.stage == "phaseup"]
        if not pre:
            raise PipelineError("ampsolve needs the phaseup table; run phaseup first")
        out = table_path(context, ms, self.name)
        ct, _ = solve_split(md, out, calibrators(md), st.reference, ref_antennas(context, ms),
                            solint=inputs.solint, calmode="a", gaintype=inputs.gaintype,
                            minsnr=inputs.minsnr, minblperant=inputs.minblperant,
                            refant_order=st.refants, model=solver_model(context, ms, md),
                            gaintable=[e.table for e in pre], gainfield=[e.gainfield for e in pre],
                            interp=[e.interp for e in pre])
        frac = float(ct.flag.mean())
        qa = [QAScore(value=max(0.0, 1 - frac), short=f"{100 * frac:.1f} % of amplitude solutions flagged",
                      metric="flagged_fraction", metric_value=frac, ms=ms)]
        lib = [e for e in st.callibrary if e.stage != self.name] + [CalEntry(table=out, stage=self.name, gainfield="nearest")]
        return Results(stage=self.name, ms=ms, qa=qa, inputs=record_inputs(inputs, user, {}),
                       summary={"table": out, "solutions": int(ct.flag.size), "flagged": int(ct.flag.sum())},
                       updates={"callibrary": lib})
