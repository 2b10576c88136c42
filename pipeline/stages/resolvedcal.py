"""resolvedcal: antennas to use for a resolved reference calibrator."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..flux import SourceModel, select_resolved_antennas
from ..gaincal import ranked_refants
from ..ms import select
from ..ms.select import antenna_ids
from ..qa import QAScore
from ..stage import Inputs, Results, Stage, record_inputs, register
from .common import calibrators, md_of


class ResolvedcalInputs(Inputs):
    hm_resolvedcals: Literal["automatic", "manual"] = Field("automatic", description="automatic selection or the antenna list below")
    peak_fraction: float = Field(0.2, gt=0, lt=1, description="keep baselines whose disk visibility exceeds this fraction of the shortest baseline's")
    antenna: str = Field("", description="manual antenna list (names or ids) for the reference field")
    refant: str = Field("", description="reference antennas, best first; default: ALMA ranking")


@register
class Resolvedcal(Stage):
    name = "resolvedcal"
    Inputs = ResolvedcalInputs
    description = "Choose the short-baseline antennas for a resolved reference calibrator"

    def run(self, context, ms, inputs, user):
        md = md_of(context, ms)
        st = context.ms[ms]
        refs = ranked_refants(md, select(md, field=",".join(calibrators(md))), inputs.refant)
        resolved = {"refant": ",".join(md.antennas[a].name for a in refs[:3])}
        if inputs.hm_resolvedcals == "manual" or inputs.antenna:
            ants = sorted({i for t in inputs.antenna.split(",") if t for i in antenna_ids(t, md)})
            sel = {"antennas": ants, "names": [md.antennas[a].name for a in ants], "reason": "manual"}
        else:
            sel = select_resolved_antennas(md, SourceModel(**st.reference_model), refs[0],
                                           inputs.peak_fraction)
            resolved["antenna"] = ",".join(sel.get("names", [])) if sel["antennas"] else ""
        v = 1.0 if not sel.get("fell_back") else 0.66
        qa = [QAScore(value=v, short=f"{len(sel['antennas']) or 'all'} antennas for {st.reference}: {sel['reason']}",
                      metric="n_antennas", metric_value=len(sel["antennas"]) or len(md.antennas), ms=ms,
                      field=st.reference)]
        return Results(stage=self.name, ms=ms, qa=qa, inputs=record_inputs(inputs, user, resolved),
                       summary={"refant": md.antennas[refs[0]].name, **sel},
                       updates={"resolved": sel, "refants": refs})
