"""setmodel: the reference (amplitude) calibrator's model."""
from __future__ import annotations

import os

from pydantic import Field

from ..context import CatalogueEntry
from ..errors import PipelineError
from ..fluxcsv import read_flux_csv
from ..qa import QAScore
from ..skymodel import reference_model
from ..stage import Inputs, Results, Stage, record_inputs
from .common import md_of


class SetmodelInputs(Inputs):
    reference: str = Field("", description="reference field; default: the field with intent AMPLITUDE")
    reffile: str = Field("flux.csv", description="flux.csv path (relative paths: beside the MS)")
    standard: str = Field("auto", description="'auto' or 'Perley-Butler 2017' for standard calibrators")
    flux: float | None = Field(None, gt=0, description="manual Stokes I (Jy) at reffreq_hz; wins over reffile")
    spix: list[float] = Field([0.0], description="spectral index [alpha] or log polynomial [a, b, ...]")
    reffreq_hz: float | None = Field(None, gt=0, description="reference frequency of a manual flux")
    disk_arcsec: float = Field(0.0, ge=0, description="uniform-disk diameter of a resolved reference")
    limb: float = Field(0.0, ge=0, description="limb-darkening exponent of the disk model")


class Setmodel(Stage):
    name = "setmodel"
    Inputs = SetmodelInputs
    description = "Model of the reference calibrator (flux.csv, manual, Perley-Butler 2017 or disk)"

    def run(self, context, ms, inputs, user):
        md = md_of(context, ms)
        resolved = {}
        ref = inputs.reference
        if not ref:
            amp = md.fields_with_intent("AMPLITUDE")
            if not amp:
                raise PipelineError(f"{ms} has no field with intent AMPLITUDE; set setmodel.reference")
            ref = resolved["reference"] = amp[0].name
        reffile = inputs.reffile
        if reffile and not os.path.isabs(reffile):
            reffile = os.path.join(os.path.dirname(md.path), reffile)
        m = reference_model(md, ref, reffile, inputs.flux, inputs.spix, inputs.reffreq_hz,
                            inputs.standard, inputs.disk_arcsec, inputs.limb)
        cat = []
        if reffile and os.path.exists(reffile):
            cat = [CatalogueEntry(field=r.field, spw=r.spw, flux_jy=r.I)
                   for r in read_flux_csv(reffile) if r.ms in ("", md.name)]
        fluxes = {str(s.id): float(m.evaluate(s.id, s.chan_freq[[len(s.chan_freq) // 2]])[0, 0])
                  for s in md.spws}
        qa = [QAScore(value=1.0, short=f"{ref}: model from {m.origin}", metric="model_origin", ms=ms,
                      field=ref)]
        return Results(stage=self.name, ms=ms, qa=qa,
                       inputs=record_inputs(inputs, user, resolved),
                       summary={"reference": ref, "origin": m.origin, "flux_per_spw": fluxes,
                                "disk_arcsec": m.disk_arcsec},
                       updates={"reference": ref, "reference_model": m, "catalogue": cat,
                                "summary": md.summary()})
