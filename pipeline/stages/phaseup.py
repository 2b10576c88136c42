"""phaseup: phase-only gains per calibrator field, with the solution interval and spw
combination chosen from the SNR each field reaches (heuristics.phaseup, in the spirit of ALMA's
hifa_spwphaseup). A field's per-integration SNR per spw comes from a per-scan trial solve on the
cube; every choice is recorded per field with its reason. Combined solutions are written per spw
(the spw's constant phase over the field's scans plus the combined phase scaled by frequency, as
'linearPD'), so the table is an ordinary per-spw G table and its SNR column holds both parts'
noise (what ampsolve's debiasing reads).
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from ..calapply import ApplySpec
from ..calsolve import SolveSpec, solve_rows, to_caltable
from ..context import CalEntry
from ..errors import PipelineError
from ..gaincal import parse_solint
from ..heuristics.phaseup import PhaseupChoice, choose, combined_phases, per_integration_snr
from ..qa import flagged_fraction
from ..stage import Results, Stage, record_inputs
from .common import (
    Solint,
    SolveInputs,
    SolveSummary,
    check_minblperant,
    cube_fields,
    resolved_subset,
    solutions_artefact,
    write_solutions,
)


class PhaseupInputs(SolveInputs):
    phaseupsolint: Solint | dict[str, Solint] | None = Field(None, description="solution interval ('int', 'inf', '30s', '2min'), for every field or per field ({field: solint})", json_schema_extra={"blank": "per field from its SNR: 'int' when every spw reaches target_snr, else the spws combined (T), else the shortest longer interval (at most max_solint_s and half a scan)", "example": "{J0541+1527: 30s}"})
    combine: Literal["", "spw"] | None = Field(None, description="'spw': one solution over all spws (each spw's constant phase removed, applied with the frequency ratio as linearPD); '': per spw", json_schema_extra={"blank": "per field: 'spw' when some spw alone falls short of target_snr at 'int'", "example": "spw"})
    spwmap: list[int] = Field([], description="spw i is corrected with the solutions of spw spwmap[i] (CASA's meaning; not with combine='spw')", json_schema_extra={"example": "[0,0,2,2]"})
    gaintype: Literal["G", "T"] | None = Field(None, description="G: per polarisation; T: both together", json_schema_extra={"blank": "G; T when the field needs the spws combined", "example": "T"})
    target_snr: float = Field(10.0, gt=0, description="SNR one phase solution should reach per antenna (CASA's SNR; the amplitude bias of fitting the noise is about 1/SNR^2 before ampsolve's correction)")
    max_solint_s: float = Field(60.0, gt=0, description="longest interval the heuristic chooses (s): the atmosphere's coherence time")
    refantmode: Literal["flex", "strict"] = Field("flex", description="CASA's re-referencing: 'flex' (alternate refants held in phase; an interval no refant connects is flagged) or 'strict' (only the first refant)")


class FieldChoice(BaseModel):
    field: str
    solint: str
    combine: bool
    gaintype: str
    expected_snr: float
    snr_per_integration: dict[int, float]       # per spw, from the trial solve
    reason: str
    source: str                                 # 'heuristic' or 'user'


class PhaseupSummary(SolveSummary):
    choices: list[FieldChoice] = []


class Phaseup(Stage):
    name = "phaseup"
    Inputs = PhaseupInputs
    Summary = PhaseupSummary
    description = "Phase-only gain solve of every calibrator (refant phase 0), interval and spw combination by SNR"
    uses_cube = True

    def plots(self, rec, st, outdir, base, abspath):
        from ..weblog.plots import gain_vs_time
        return gain_vs_time(abspath(rec.artefacts["solutions"]), outdir, base, "phase")

    def page(self, rec, st):
        return {"choices": self.summary_of(rec).choices}

    def run(self, s, inputs, user):
        context, ms, md, st = s.context, s.name, s.md, s.state
        if inputs.spwmap and inputs.combine == "spw":
            raise PipelineError("phaseup.spwmap and phaseup.combine='spw' are both set; give one")
        check_minblperant(self.name, inputs.minblperant, md)
        cube, ref = s.cube()
        fields = cube_fields(st)
        ants, ref_mbl = resolved_subset(md, st, inputs.minblperant)
        solve = dict(antennas=ants, minblperant={k: ref_mbl for k in ants} if ants else None)
        choices, snrs, src = _choose(cube, md, st, inputs, fields, solve)
        rows = []
        for key in sorted({(c.solint, c.combine, c.gaintype) for c in choices.values()}):
            group = [f for f, c in choices.items() if (c.solint, c.combine, c.gaintype) == key]
            solint, comb, gt = key
            if comb or gt == "T":   # both need each spw's and polarisation's constant phase removed first
                rows += _aligned(cube, md, st.refants, group, parse_solint(solint), comb, gt, inputs, solve)
            else:
                spec = SolveSpec(parse_solint(solint), False, gt, "p", inputs.minblperant, inputs.minsnr,
                                 solver=inputs.solver)
                rows += [_as_g(r) for r in solve_rows(cube, md, spec, st.refants, group, **solve)]
        ct = to_caltable(rows, "G", md, len(md.antennas), st.refants, inputs.refantmode == "strict", phase_only=True)
        rel = write_solutions(context, ms, self.name, ct, md, cube, inputs)
        lib = [e for e in st.callibrary if e.role != "phase"] + [
            CalEntry(role="phase", table=rel, stage=self.name, gainfield="nearest", spwmap=list(inputs.spwmap))]
        recs = [FieldChoice(field=md.fields[f].name, solint=c.solint, combine=c.combine, gaintype=c.gaintype,
                            expected_snr=round(c.expected_snr, 2), snr_per_integration=snrs[f], reason=c.reason,
                            source=src[f]) for f, c in choices.items()]
        heur = {"phaseupsolint": {r.field: r.solint for r in recs}, "combine": {r.field: "spw" if r.combine else ""
                                                                              for r in recs},
                "gaintype": {r.field: r.gaintype for r in recs}}
        return Results(stage=self.name, ms=ms, qa=[flagged_fraction(ms, float(ct.flag.mean()), "phase")],
                       inputs=record_inputs(inputs, user, {k: v for k, v in heur.items() if k not in user}),
                       summary=PhaseupSummary(table=rel, solutions=int(ct.flag.size), flagged=int(ct.flag.sum()),
                                              reference_minblperant=ref_mbl, choices=recs),
                       artefacts={"solutions": solutions_artefact(context, ms, self.name, ct)},
                       updates={"callibrary": lib, "cube": ref})


def _choose(cube, md, st, inputs, fields, solve) -> tuple[dict[int, PhaseupChoice], dict, dict]:
    """Per field: the choice, the trial solve's SNR per spw and integration, and whether the
    user decided (a per-scan trial solve gives each spw's SNR)."""
    trial = solve_rows(cube, md, SolveSpec("inf", False, "G", "p", inputs.minblperant, 0.0), st.refants,
                       fields, **solve)
    times: dict = {}
    for b in cube.blocks(fields=fields):
        times.setdefault((b.field_id, b.spw_id, b.scan), set()).update(np.round(b.time, 3).tolist())
    per: dict = {}
    for r in trial:
        n = len(times.get((r["field"], r["spw"], r["scan"]), ())) or 1
        ok = ~r["flag"]
        snr, ns = per.setdefault((r["field"], r["spw"]), ([], []))
        snr.extend(r["snr"][ok].tolist())
        ns.extend([n] * int(ok.sum()))
    out, snrs, src = {}, {}, {}
    for f in fields:
        snr = {s: round(per_integration_snr(np.array(v[0]), np.array(v[1])), 2) for (ff, s), v in sorted(per.items())
               if ff == f}
        tt = [np.array(sorted(v)) for (ff, _, _), v in times.items() if ff == f]
        gaps = [np.diff(t) for t in tt if len(t) > 1]
        t_int = float(np.median(np.concatenate(gaps))) if gaps else 1.0
        scan_s = float(np.median([len(t) * t_int for t in tt])) if tt else t_int
        name = md.fields[f].name
        given = inputs.phaseupsolint.get(name) if isinstance(inputs.phaseupsolint, dict) else inputs.phaseupsolint
        sol = None
        if given is not None:
            v = parse_solint(given)
            sol = (given, 1.0 if v == "int" else scan_s / t_int if v == "inf" else max(1.0, v / t_int))
        out[f] = choose(snr, t_int, scan_s, inputs.target_snr, inputs.max_solint_s, sol,
                        None if inputs.combine is None else inputs.combine == "spw", inputs.gaintype)
        snrs[f] = snr
        src[f] = "user" if (given is not None or inputs.combine is not None or inputs.gaintype) else "heuristic"
    return out, snrs, src


def _as_g(r: dict) -> dict:
    """A T solution as a G record (the same gain in both polarisations)."""
    if r["gain"].shape[0] == 2:
        return r
    return {**r, **{k: np.repeat(r[k], 2, axis=0) for k in ("gain", "err", "snr", "flag")}}


def _aligned(cube, md, refants, fields, solint, combine, gaintype, inputs, solve) -> list[dict]:
    """Solutions over several spws (combine) or both polarisations (T), written per spw and
    polarisation: each spw's and polarisation's constant phase in each scan (G, solint inf; a
    scan, not the whole track, so the atmosphere's drift does not decorrelate it), then the
    solution with those removed, applied with nu_spw / nu_ref when combined
    (heuristics.phaseup.combined_phases)."""
    off_spec = SolveSpec("inf", False, "G", "p", inputs.minblperant, 0.0, refantmode="none")
    off = solve_rows(cube, md, off_spec, refants, fields, **solve)
    off_ct = to_caltable(off, "G", md, len(md.antennas))
    spec = SolveSpec(solint, False, gaintype, "p", inputs.minblperant, 0.0, combine_spw=combine, refantmode="none",
                     solver=inputs.solver)
    comb = solve_rows(cube, md, spec, refants, fields, pre=[ApplySpec(off_ct, "nearest", "nearest", calwt=False)], **solve)
    offsets = {(r["field"], r["spw"], r["scan"]): r for r in off}
    out = []
    for r in comb:
        spws = sorted(s for (f, s, sc) in offsets if f == r["field"] and sc == r["scan"]) if combine else [r["spw"]]
        o = [offsets.get((r["field"], s, r["scan"])) for s in spws]
        if spws and all(x is not None for x in o):
            out += _per_spw(cube, o, spws, r, inputs.minsnr)
    return out


def _per_spw(cube, o: list[dict], spws: list[int], r: dict, minsnr: float) -> list[dict]:
    """Records per spw (G) from the solution `r` over `spws` and their constant phases `o`."""
    nu = np.array([cube.index.spw_chan[s][0] for s in spws])
    g, fl, snr = combined_phases(np.stack([x["gain"] for x in o]), np.stack([x["flag"] for x in o]),
                                 np.stack([x["snr"] for x in o]), r["gain"][None], r["flag"][None], r["snr"][None],
                                 nu / nu.mean())
    fl = fl | (snr <= minsnr)
    return [{**r, "spw": s, "gain": g[0, j], "flag": fl[0, j], "snr": snr[0, j],
             "err": np.where(snr[0, j] > 0, 1 / np.where(snr[0, j] > 0, snr[0, j], 1), 0.0)} for j, s in enumerate(spws)]
