"""crosseb: each calibrator's flux across the EBs of a run (runs once, after every MS).

For every transfer field measured in two or more EBs: a table of its flux per EB and spw, a
variability QA (chi2 of the fluxes about their weighted mean, per frequency group, with the
budget's errors: heuristics.crosseb) and, optionally, one spectral fit over all EBs (order by
AICc unless set, as fluxtransfer's). Which errors: 'data' (error_jy: statistical + temporal)
when every EB's flux scale comes from the same reference source, whose model error is then
common to all EBs and cancels in the comparison; 'total' (error_total_jy, adding the reference
model's term) when the references differ. A run of one MS has nothing to compare and records
nothing.
"""
from __future__ import annotations

import json
import os
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from ..heuristics.crosseb import P_RED, P_YELLOW, consistency, variability_score
from ..heuristics.fluxscale import fit_by_ic, spectral_fit
from ..qa import colour, variability
from ..stage import Inputs, Results, Stage, Summary, record_inputs


class CrossRow(BaseModel):
    ms: str
    spw: int
    freq_hz: float
    flux_jy: float
    error_jy: float
    error_total_jy: float


class CrossGroup(BaseModel):
    freq_hz: float
    n: int
    mean_jy: float
    error_jy: float
    chi2: float
    dof: int
    members: list[int]              # indices into the field's rows


class CrossFit(BaseModel):
    flux_jy: float
    error_jy: float
    reffreq_hz: float
    spidx_poly: list[float]
    spidx_err: list[float]
    order: int
    note: str


class CrossField(BaseModel):
    ebs: list[str]
    rows: list[CrossRow]
    chi2: float
    dof: int
    p: float
    score: float
    groups: list[CrossGroup]
    fit: CrossFit | None = None


class CrossebSummary(Summary):
    """crosseb.json."""
    errors: Literal["data", "total"]
    errors_why: str
    fields: dict[str, CrossField]


class CrossebInputs(Inputs):
    errors: Literal["auto", "data", "total"] = Field("auto", description="errors of the variability chi2: 'data' (statistical + temporal), 'total' (+ reference model)", json_schema_extra={"blank": "'auto': 'data' when every EB's reference is the same source (its model error is common), else 'total'"})
    joint_fit: bool = Field(True, description="fit one spectrum to each field's fluxes of all EBs")
    fitorder: int | None = Field(None, ge=0, le=3, description="order of the joint spectral fit", json_schema_extra={"blank": "chosen by AICc over 0..min(3, frequencies - 1)", "example": "1"})


def flux_rows(context) -> dict[str, list[CrossRow]]:
    """field -> one row per EB and spw with a flux (from each MS's fluxtransfer results)."""
    out: dict[str, list[CrossRow]] = {}
    for ms, st in context.ms.items():
        for f, r in st.fluxes.items():
            for s, v in r.spws.items():
                if not v.missing and v.flux_jy and v.error_jy:
                    out.setdefault(f, []).append(CrossRow(ms=ms, spw=s, freq_hz=v.freq_hz, flux_jy=v.flux_jy,
                                                          error_jy=v.error_jy,
                                                          error_total_jy=v.error_total_jy or v.error_jy))
    return out


class Crosseb(Stage):
    name = "crosseb"
    Inputs = CrossebInputs
    Summary = CrossebSummary
    scope = "all"
    description = "Each calibrator's flux across the EBs of the run: table, variability QA, joint spectral fit"

    def write_outputs(self, context):
        """OUTDIR/crosseb.json: this stage's summary (removed when the run has none)."""
        path = os.path.join(context.outdir, "crosseb.json")
        rec = next((r for r in context.results if r.stage == self.name and r.ok), None)
        if rec is not None:
            with open(path, "w") as fh:
                json.dump(rec.summary, fh, indent=1)
        elif os.path.exists(path):          # from an earlier run of several MSes
            os.remove(path)

    front_template = "front_crosseb.html"

    def plots(self, rec, st, outdir, base, abspath):
        from ..weblog.plots import cross_eb
        return cross_eb(self.summary_of(rec), outdir, base)

    def front(self, context, done):
        rec, href = done[0]
        return {"href": href, "fields": {f: {**v.model_dump(), "colour": colour(v.score)}
                                         for f, v in self.summary_of(rec).fields.items()}}

    def run(self, s, inputs, user):
        context, ms = s.context, s.name
        refs = {tuple(sorted(st.references)) for st in context.ms.values() if st.fluxes}
        kind = inputs.errors
        if kind == "auto":
            kind = "data" if len(refs) == 1 else "total"
        why = {"data": "every EB's flux scale comes from the same reference source; its model error is "
                       "common to all EBs and cancels", "total": "the EBs' references differ; their model "
                       "errors are independent"}[kind] if inputs.errors == "auto" else "set by the user"
        fields, qa = {}, []
        for f, rows in flux_rows(context).items():
            ebs = [m for m in context.ms if any(r.ms == m for r in rows)]     # in the run's order
            if len(ebs) < 2:
                continue
            fr = np.array([r.freq_hz for r in rows])
            fl = np.array([r.flux_jy for r in rows])
            er = np.array([r.error_jy if kind == "data" else r.error_total_jy for r in rows])
            groups, chi2, dof, p = consistency(fr, fl, er, np.array([r.ms for r in rows]))
            score = variability_score(p, dof)
            res = CrossField(ebs=ebs, rows=rows, chi2=chi2, dof=dof, p=p, score=score,
                             groups=[CrossGroup(freq_hz=g.freq_hz, n=len(g.members), mean_jy=g.mean_jy,
                                                error_jy=g.error_jy, chi2=g.chi2, dof=g.dof, members=g.members)
                                     for g in groups])
            if inputs.joint_fit:
                fit = fit_by_ic(fr, fl, er) if inputs.fitorder is None else spectral_fit(fr, fl, er, inputs.fitorder)
                res.fit = CrossFit(flux_jy=fit.flux, error_jy=fit.flux_err, reffreq_hz=fit.reffreq,
                                   spidx_poly=list(fit.spidx[1:]) if len(fit.spidx) > 1 else [0.0],
                                   spidx_err=list(fit.spidx_err[1:]) if len(fit.spidx_err) > 1 else [0.0],
                                   order=fit.order, note=fit.note)
            fields[f] = res
            qa.append(variability(f, len(ebs), score, chi2, dof, p, kind, P_YELLOW, P_RED))
        return Results(stage=self.name, ms=ms, qa=qa, inputs=record_inputs(inputs, user, {"errors": kind}
                                                                          if inputs.errors == "auto" else {}),
                       summary=CrossebSummary(errors=kind, errors_why=why, fields=fields))
