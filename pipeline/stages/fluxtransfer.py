"""fluxtransfer: fluxscale on the amplitude table -> per field/spw flux, error, N, spectral fit;
the flux-scaled table; derived fluxes from the cube with the phase and flux-scaled gains applied."""
from __future__ import annotations

import numpy as np
from pydantic import Field

from heuristics.derived import WeightedStats, row_means
from ..calapply import Applier
from ..caltable import read_caltable
from ..calsolve import applied
from ..context import CalEntry, DerivedFlux, FieldFlux, SpectralFitResult, SpwFlux
from ..errors import PipelineError
from ..fluxscale import compute, write_scaled
from ..qa import completeness, snr_qa, spectral_consistency
from ..stage import Inputs, Results, Stage, record_inputs
from .common import apply_spec, calibrators, md_of, needs, open_cube

TRANSINTENT = ("PHASE", "BANDPASS", "CHECK", "POLARIZATION", "DIFFGAIN")


class FluxtransferInputs(Inputs):
    transfer: str = Field("", description="transfer fields; default: fields with intents PHASE,BANDPASS,CHECK,...")
    refspwmap: list[int] = Field([-1], description="CASA refspwmap")
    gainthreshold: float = Field(-1.0, description="CASA gainthreshold (-1: off)")
    antenna: str = Field("", description="antennas to use (CASA selection)")
    fitorder: int = Field(1, ge=0, le=4, description="order of the spectral fit")


def field_fluxes(d: dict, st) -> dict[str, FieldFlux]:
    """CASA's fluxscale dict -> typed per-field results (with catalogue values and ratios)."""
    out = {}
    for key, e in d.items():
        if not str(key).isdigit():
            continue
        spws = {}
        for i, s in enumerate(d["spwID"]):
            v = e[str(s)]
            fd, err, n = v["fluxd"][0], v["fluxdErr"][0], int(v["numSol"][0])
            if n <= 0:
                spws[str(s)] = SpwFlux(freq_hz=d["freq"][i], missing=True)
                continue
            cat = st.catalogue_flux(e["fieldName"], s)
            spws[str(s)] = SpwFlux(freq_hz=d["freq"][i], flux_jy=fd, error_jy=err,
                                   snr=fd / err if err > 0 else None, n=n, catalogue_jy=cat,
                                   ratio=fd / cat if cat else None)
        sp = e["spidx"]
        fit = SpectralFitResult(flux_jy=e["fitFluxd"], error_jy=e["fitFluxdErr"], reffreq_hz=e["fitRefFreq"],
                                spidx=sp[1] if len(sp) > 1 else 0.0,
                                spidx_err=e["spidxerr"][1] if len(sp) > 1 else 0.0,
                                spidx_poly=list(sp[1:]) if e["covarMat"] else [0.0])
        out[e["fieldName"]] = FieldFlux(field_id=int(key), spws=spws, fit=fit)
    return out


def derived_fluxes(cube, md, field_ids: list[int], applier: Applier) -> dict[int, dict[str, DerivedFlux]]:
    """Calibrated (phase + flux-scaled gains) vector average of each field and spw (cube rows)."""
    acc: dict = {}
    for b in cube.blocks(fields=field_ids):
        vis, w = applied(b, applier, raw=True)
        acc.setdefault((b.field_id, b.spw_id), WeightedStats()).add(*row_means(vis, w))
    out: dict = {}
    for (f, s), stats in acc.items():
        r = stats.result()
        if r is not None:
            out.setdefault(f, {})[str(s)] = DerivedFlux(flux_jy=r[0], error_jy=r[1], n_rows=r[2])
    return out


class Fluxtransfer(Stage):
    name = "fluxtransfer"
    Inputs = FluxtransferInputs
    description = "Flux transfer from the reference (CASA fluxscale), derived fluxes, QA"

    def run(self, context, ms, inputs, user):
        md = md_of(context, ms)
        st = context.ms[ms]
        amp = needs(context, ms, "amplitude", self.name)
        phase = needs(context, ms, "phase", self.name)
        heur = {}
        tr = [t.strip() for t in inputs.transfer.split(",") if t.strip()]
        if not tr:
            tr = [f.name for f in md.fields if f.intents & set(TRANSINTENT) and f.name != st.reference]
            if not tr:
                tr = [f for f in calibrators(md) if f != st.reference]
            heur["transfer"] = ",".join(tr)
        for t in tr:
            md.field_by_name(t)
        ct = read_caltable(context.abspath(amp.table))
        d = compute(ct, md, st.reference, tr, inputs.refspwmap, inputs.gainthreshold, inputs.antenna,
                    "", "", inputs.fitorder)
        fluxes = field_fluxes(d, st)
        rel = f"{ms}.fluxscaled.tbl"
        write_scaled(ct, md, context.abspath(rel), d.pop("_mgratio"), False)
        scaled = CalEntry(role="fluxscaled", table=rel, stage=self.name, gainfield="nearest")
        cube, ref = open_cube(context, ms, md)
        applier = Applier([apply_spec(context, phase, "nearest", "linear"),
                           apply_spec(context, scaled, "nearest", "linear")], len(md.antennas),
                          np.array([[f.ra, f.dec] for f in md.fields]))
        present = [md.field_by_name(f).id for f in tr if f in fluxes]
        for fid, per in derived_fluxes(cube, md, present, applier).items():
            fluxes[md.fields[fid].name].derived = per
        spws = [str(s.id) for s in md.spws]
        plain = {f: r.model_dump() for f, r in fluxes.items()}
        qa = [completeness(ms, plain, [(f, s) for f in tr for s in spws]), snr_qa(ms, plain)]
        qa += spectral_consistency(ms, plain)
        if not fluxes:
            raise PipelineError(f"no transfer field of {', '.join(tr)} has amplitude solutions in {ms}")
        lib = [e for e in st.callibrary if e.role != "fluxscaled"] + [scaled]
        return Results(stage=self.name, ms=ms, qa=qa, inputs=record_inputs(inputs, user, heur),
                       summary={"fluxes": plain, "scaled_table": rel,
                                "missing": sorted(set(tr) - set(fluxes))},
                       updates={"fluxes": fluxes, "transfer": tr, "callibrary": lib, "cube": ref})
