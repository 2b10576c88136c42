"""ampflag: flag outlier amplitude solutions per field and spw."""
from __future__ import annotations

from pydantic import Field

from ..errors import PipelineError
from ..flux import flag_outliers
from ..qa import QAScore
from ..stage import Inputs, Results, Stage, record_inputs, register


class AmpflagInputs(Inputs):
    amp_outlier_sigma: float = Field(50.0, gt=0, description="flag |amp - median| > this many MADs (per field and spw)")


@register
class Ampflag(Stage):
    name = "ampflag"
    Inputs = AmpflagInputs
    description = "Robust outlier flagging of the amplitude solutions"

    def run(self, context, ms, inputs, user):
        st = context.ms[ms]
        amp = [e for e in st.callibrary if e.stage == "ampsolve"]
        if not amp:
            raise PipelineError("ampflag needs the ampsolve table; run ampsolve first")
        flags = flag_outliers(amp[0].table, inputs.amp_outlier_sigma)
        v = 1.0 if not flags else 0.9 if len(flags) < 5 else 0.66
        qa = [QAScore(value=v, short=f"{len(flags)} amplitude solutions flagged as outliers",
                      metric="n_flagged", metric_value=len(flags), ms=ms)]
        return Results(stage=self.name, ms=ms, qa=qa, inputs=record_inputs(inputs, user, {}),
                       summary={"flags": flags}, updates={"flags": st.flags + flags})
