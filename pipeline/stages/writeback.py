"""writeback: setjy — the transfer fields' fitted spectra and the reference model into MODEL_DATA,
all in one pass over the MS."""
from __future__ import annotations

from pydantic import Field

from ..ms import Selection, select, write_model
from ..qa import model_data_check, model_written
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
        with s.rows_bar("writing MODEL_DATA (rows)", md.nrows) as advance:
            n = write_model(md, sel, lambda f, s, fr, uvw: models[f].evaluate(s, fr, uvw)[..., None],
                            fill_others=redo, io=s.io, on_rows=advance) if (models or redo) else 0
        names = [md.fields[f].name for f in sorted(models)]
        others = ("1 in the parallel hands, 0 in the cross hands" if (created or redo)
                  else "unchanged (what the column held before)")
        state = f"models of {', '.join(names)}; other rows {others}" if names else ""
        qa = [model_written(ms, names, n), model_data_check(ms, read_back(md, models))]
        return Results(stage=self.name, ms=ms, qa=qa, inputs=record_inputs(inputs, user, {}),
                       summary=WritebackSummary(fields=names, rows=n), updates={"model_data": state})


def read_back(md, models: dict, sample: int = 24) -> dict[str, tuple[float | None, str]]:
    """Per field written: MODEL_DATA of `sample` of its rows (spread over the MS) against its
    model at their UVW, as the largest difference relative to the model's peak; None with why
    when the column is missing or holds CASA's default 1 Jy."""
    import numpy as np
    from casacore.tables import table

    from ..ms.onepass import corr_pols
    out = {}
    with table(md.path, ack=False) as t:
        if "MODEL_DATA" not in t.colnames():
            return {md.fields[f].name: (None, "the column is missing") for f in models}
        fid = t.getcol("FIELD_ID")
        for f, m in models.items():
            rows = np.flatnonzero(fid == f)
            worst, default = 0.0, True
            for r in rows[np.linspace(0, len(rows) - 1, min(sample, len(rows))).astype(int)] if len(rows) else []:
                dd = md.datadescs[int(t.getcell("DATA_DESC_ID", int(r)))]
                spw = md.spws[dd.spw_id]
                par = [c for c, (p, q) in enumerate(corr_pols(md.corr_types[dd.pol_id])) if p == q]
                got = t.getcell("MODEL_DATA", int(r))[:, par]
                want = np.broadcast_to(m.evaluate(spw.id, spw.chan_freq, t.getcell("UVW", int(r))[None])[0][:, None], got.shape)
                worst = max(worst, float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30)))
                default &= bool(np.all(got == 1))
            out[md.fields[f].name] = ((None, "still CASA's default 1 Jy") if default and len(rows) and not
                                      np.allclose(want, 1) else (worst, f"differs from its model by {worst:.1e}"))
    return out
