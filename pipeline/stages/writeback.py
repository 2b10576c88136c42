"""writeback: setjy — the transfer fields' fitted spectra and the reference model into MODEL_DATA,
all in one pass over the MS."""
from __future__ import annotations

from pydantic import Field

from ..ms import Selection, select, write_model
from ..qa import model_written
from ..skymodel import fitted_model
from ..stage import Inputs, Results, Stage, Summary, record_inputs


class WritebackInputs(Inputs):
    fields: str = Field("", description="transfer fields to write, comma-separated", json_schema_extra={"blank": "every transfer field with a derived flux", "example": "J0510+1800"})
    reference: bool = Field(True, description="also write the reference models into their rows")


class WritebackSummary(Summary):
    fields: list[str]               # fields whose model was written
    rows: int


class Writeback(Stage):
    name = "writeback"
    Inputs = WritebackInputs
    description = "Write the derived spectra into MODEL_DATA (setjy), in one pass"
    Summary = WritebackSummary
    writes_ms = True

    def run(self, s, inputs, user):
        ms, md, st = s.name, s.md, s.state
        want = [f.name for f in md.fields_named(inputs.fields)] or list(st.fluxes)
        models = {}
        for f in want:
            r = st.fluxes.get(f)
            if r is not None and r.fit.flux_jy > 0:
                models[md.field_by_name(f).id] = fitted_model(f, r.fit.flux_jy, r.fit.reffreq_hz,
                                                              r.fit.spidx_poly)
        if inputs.reference:
            for ref, m in st.reference_models.items():
                models[md.field_by_name(ref).id] = m
        # after an interrupted write-back every row is rewritten (defaults included), so the
        # column ends exactly as an uninterrupted run leaves it
        redo = st.write_interrupted and "MODEL_DATA" in md.columns
        created = "MODEL_DATA" not in md.columns
        sel = select(md, field=",".join(map(str, sorted(models)))) if models else Selection(fields=set())
        n = write_model(md, sel, lambda f, s, fr, uvw: models[f].evaluate(s, fr, uvw)[..., None],
                        fill_others=redo, io=s.io) if (models or redo) else 0
        names = [md.fields[f].name for f in sorted(models)]
        others = ("1 in the parallel hands, 0 in the cross hands" if (created or redo)
                  else "unchanged (what the column held before)")
        state = f"models of {', '.join(names)}; other rows {others}" if names else ""
        qa = [model_written(ms, names, n)]
        return Results(stage=self.name, ms=ms, qa=qa, inputs=record_inputs(inputs, user, {}),
                       summary=WritebackSummary(fields=names, rows=n), updates={"model_data": state})
