"""writeback: setjy — derived fluxes (with spectral index) into MODEL_DATA."""
from __future__ import annotations

from pydantic import Field

from ..flux import SourceModel, writeback
from ..qa import QAScore
from ..stage import Inputs, Results, Stage, record_inputs, register
from .common import md_of


class WritebackInputs(Inputs):
    fields: str = Field("", description="transfer fields to write; default: all with a derived flux")
    reference: bool = Field(True, description="also write the reference model into its rows")


@register
class Writeback(Stage):
    name = "writeback"
    Inputs = WritebackInputs
    description = "Write the derived spectra into MODEL_DATA (setjy)"

    def run(self, context, ms, inputs, user):
        md = md_of(context, ms)
        st = context.ms[ms]
        want = [f.strip() for f in inputs.fields.split(",") if f.strip()] or list(st.fluxes)
        fluxes = {f: st.fluxes[f] for f in want if f in st.fluxes}
        ref = SourceModel(**st.reference_model) if inputs.reference and st.reference_model else None
        n = writeback(md, fluxes, ref)
        qa = [QAScore(value=1.0 if n else 0.5, short=f"MODEL_DATA written for {len(fluxes)} fields ({n} rows)",
                      metric="rows_written", metric_value=n, ms=ms)]
        return Results(stage=self.name, ms=ms, qa=qa, inputs=record_inputs(inputs, user, {}),
                       summary={"fields": list(fluxes), "rows": n})
