"""fluxtransfer: fluxscale -> per field/spw fluxes, errors, N, spectral fit; derived fluxes."""
from __future__ import annotations

from pydantic import Field

from ..errors import PipelineError
from ..flux import derived_fluxes, fluxtransfer
from ..fluxscale import write_scaled
from ..qa import completeness, snr_qa, spectral_consistency
from ..stage import Inputs, Results, Stage, record_inputs, register
from .common import calibrators, md_of, table_path

TRANSINTENT = ("PHASE", "BANDPASS", "CHECK", "POLARIZATION", "DIFFGAIN")


class FluxtransferInputs(Inputs):
    transfer: str = Field("", description="transfer fields; default: fields with intents PHASE,BANDPASS,CHECK,...")
    refspwmap: list[int] = Field([-1], description="CASA refspwmap")
    gainthreshold: float = Field(-1.0, description="CASA gainthreshold (-1: off)")
    antenna: str = Field("", description="antennas to use (CASA selection)")
    fitorder: int = Field(1, ge=0, le=4, description="order of the spectral fit")


@register
class Fluxtransfer(Stage):
    name = "fluxtransfer"
    Inputs = FluxtransferInputs
    description = "Flux transfer from the reference (CASA fluxscale), derived fluxes, QA"

    def run(self, context, ms, inputs, user):
        md = md_of(context, ms)
        st = context.ms[ms]
        amp = [e for e in st.callibrary if e.stage == "ampsolve"]
        if not amp:
            raise PipelineError("fluxtransfer needs the ampsolve table; run ampsolve first")
        resolved = {}
        tr = [t.strip() for t in inputs.transfer.split(",") if t.strip()]
        if not tr:
            intents = set(TRANSINTENT)
            tr = [f.name for f in md.fields if f.intents & intents and f.name != st.reference]
            if not tr:
                tr = [f for f in calibrators(md) if f != st.reference]
            resolved["transfer"] = ",".join(tr)
        cat = {tuple(k.rsplit("|", 1)[:1]) + (int(k.rsplit("|", 1)[1]),): v for k, v in st.catalogue.items()}
        fluxes, casa = fluxtransfer(md, amp[0].table, st.reference, tr, inputs.refspwmap,
                                    inputs.gainthreshold, inputs.antenna, inputs.fitorder, cat)
        scaled = table_path(context, ms, "fluxscaled")
        write_scaled(casa.pop("_table"), md, scaled, casa.pop("_mgratio"), False)
        phase = [e.table for e in st.callibrary if e.stage == "phaseup"]
        present = [f for f in tr if f in fluxes]
        for name, per in derived_fluxes(md, present, phase + [scaled]).items():
            fluxes[name]["derived"] = per
        spws = [str(s.id) for s in md.spws]
        qa = [completeness(ms, fluxes, [(f, s) for f in tr for s in spws]), snr_qa(ms, fluxes)]
        qa += spectral_consistency(ms, fluxes)
        return Results(stage=self.name, ms=ms, qa=qa, inputs=record_inputs(inputs, user, resolved),
                       summary={"fluxes": fluxes, "scaled_table": scaled, "missing": sorted(set(tr) - set(fluxes))},
                       updates={"fluxes": fluxes, "transfer": tr})
