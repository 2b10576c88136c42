"""fluxtransfer: fluxscale on the amplitude table -> per field/spw flux, error, N, spectral fit;
the flux-scaled table; derived fluxes from the cube with the phase and flux-scaled gains applied."""
from __future__ import annotations

import os
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, field_validator

from ..calapply import Applier
from ..calsolve import applied
from ..caltable import read_caltable
from ..casa_fluxscale import antenna_set, compute, write_scaled
from ..context import CalEntry, DerivedFlux, FieldFlux, SpectralFitResult, SpwFlux
from ..errors import PipelineError
from ..heuristics.derived import WeightedStats, row_means
from ..heuristics.standards import power_law
from ..qa import antenna_outliers, catalogue_qa, completeness, snr_qa
from ..stage import Inputs, Results, Stage, Summary, record_inputs
from .common import apply_spec, cube_fields, field_list, needs, save_artefact, uv_amplitudes
from .estimators import antenna_table, joint_estimates, reference_accuracy
from .fluxchecks import amp_time_score, k_spw_scores


class AntennaFlux(BaseModel):
    """The flux one antenna (and polarisation) alone gives (joint estimator)."""
    field: str
    spw: int
    antenna: str
    pol: int
    flux_jy: float
    error_jy: float
    deviation_sigma: float
    outlier: bool = False


class FluxtransferSummary(Summary):
    fluxes: dict[str, FieldFlux]
    scaled_table: str
    estimator: str
    antennas: list[AntennaFlux]
    reference_accuracy: tuple[float, str]     # fraction, why
    missing: list[str]


class FluxtransferInputs(Inputs):
    transfer: str = Field("", description="transfer fields, comma-separated", json_schema_extra={"blank": "the calibrators setmodel found: intents PHASE, BANDPASS, CHECK, POLARIZATION, ...; without intents, calibrator names (J2000 coordinate names, flux.csv rows)", "example": "J0510+1800,J0530+1331"})
    refspwmap: list[int] = Field([-1], description="CASA refspwmap: spw i of the transfer fields uses the reference's spw refspwmap[i]", json_schema_extra={"example": "[0,0,2,2]"})
    gainthreshold: float = Field(-1.0, description="CASA gainthreshold: drop gains more than this fraction from the median (-1: off)", json_schema_extra={"example": "0.1"})
    antenna: str = Field("", description="antennas to use (CASA selection)", json_schema_extra={"blank": "all antennas", "example": "!DA41"})
    fitorder_rule: Literal["aicc", "fractional_bandwidth"] = Field("aicc", description="how a blank fitorder is chosen: 'aicc' (the order by AICc over 0..min(3, spws - 1)) or 'fractional_bandwidth' (the VLA pipeline's rule: 1 below a fractional bandwidth of 0.3, 2 to 0.8, 3 to 1.6, 4 above; 0 for a span under 257 MHz)", json_schema_extra={"example": "fractional_bandwidth"})
    fitorder: int | None = Field(None, ge=0, le=4, description="order of the spectral fit (log S vs log frequency)", json_schema_extra={"blank": "chosen by AICc over 0..min(3, spws - 1), with a note; equal frequencies lower it (with estimator casa: 1, as CASA)", "example": "1"})
    estimator: Literal["joint", "casa"] = Field("joint", description="'joint': all amplitude solutions fitted at once (SNR weights, outliers rejected, a gain drift where BIC at the measured noise and a held-out edge check support it); 'casa': CASA's fluxscale exactly, on this recipe's gain tables (the recipe gfluxscale_casa also solves them as CASA's gaincal does)")
    reference_error: float | None = Field(None, ge=0, lt=1, description="fractional accuracy of the reference model (the error budget's reference term)", json_schema_extra={"blank": "by the model's origin: Perley-Butler 2017 2 %; planets, moons, flux.csv catalogue and manual fluxes 5 %", "example": "0.03"})
    catalogue_range: list[float] = Field([0.7, 1.4], min_length=2, max_length=2, description="derived / catalogue flux outside [low, high] scores red (a gross flux-scale error)", json_schema_extra={"example": "[0.8,1.25]"})

    @field_validator("catalogue_range")
    @classmethod
    def _ordered(cls, v):
        if not 0 < v[0] < v[1]:
            raise ValueError(f"give [low, high] with 0 < low < high, not {v}")
        return v


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
                spws[int(s)] = SpwFlux(freq_hz=d["freq"][i], missing=True)
                continue
            cat = st.catalogue_flux(e["fieldName"], s)
            spws[int(s)] = SpwFlux(freq_hz=d["freq"][i], flux_jy=fd, error_jy=err,
                                   snr=fd / err if err > 0 else None, n=n, catalogue_jy=cat,
                                   ratio=fd / cat if cat else None)
        sp = e["spidx"]
        fit = SpectralFitResult(flux_jy=e["fitFluxd"], error_jy=e["fitFluxdErr"], reffreq_hz=e["fitRefFreq"],
                                spidx=sp[1] if len(sp) > 1 else 0.0,
                                spidx_err=e["spidxerr"][1] if len(sp) > 1 else 0.0,
                                spidx_poly=list(sp[1:]) if e["covarMat"] else [0.0],
                                note=d.get("_fitnote", {}).get(e["fieldName"], ""))
        out[e["fieldName"]] = FieldFlux(field_id=int(key), spws=spws, fit=fit)
    return out


MAX_PLOT_POINTS = 5000      # per field, for the amplitude-vs-uv plot


def derived_fluxes(cube, md, field_ids: list[int], applier: Applier,
                   points: dict | None = None) -> dict[int, dict[int, DerivedFlux]]:
    """Calibrated (phase + flux-scaled gains) vector average of each field and spw (cube rows).
    points (optional): filled with field -> (spw, uv distance m, calibrated amplitude) of its
    first spw's rows (at most MAX_PLOT_POINTS), for the weblog."""
    acc: dict = {}
    for b in cube.blocks(fields=field_ids):
        vis, w = applied(b, applier, raw=True)
        acc.setdefault((b.field_id, b.spw_id), WeightedStats()).add(*row_means(vis, w))
        if points is not None:
            spw, uv, amp = points.setdefault(b.field_id, (b.spw_id, [], []))
            if spw == b.spw_id and sum(len(a) for a in amp) < MAX_PLOT_POINTS:
                _, d, a, _ = uv_amplitudes(b, vis, w)
                uv.append(d)
                amp.append(a)
    out: dict = {}
    for (f, s), stats in acc.items():
        r = stats.result()
        if r is not None:
            out.setdefault(f, {})[int(s)] = DerivedFlux(flux_jy=r[0], error_jy=r[1], n_rows=r[2])
    return out


def _ampuv_artefact(context, ms: str, md, points: dict) -> str:
    """The transfer fields' calibrated amplitudes vs uv distance (derived_fluxes' points)."""
    cols: dict = {"field": [], "spw": [], "uv": [], "amp": []}
    for f, (s, uv, amp) in points.items():
        if not uv:
            continue
        uv, amp = np.concatenate(uv), np.concatenate(amp)
        cols["field"].append(np.full(len(uv), md.fields[f].name))
        cols["spw"].append(np.full(len(uv), s))
        cols["uv"].append(uv)
        cols["amp"].append(amp)
    return save_artefact(context, ms, "fluxtransfer.ampuv",
                         **{k: np.concatenate(v) if v else np.zeros(0) for k, v in cols.items()})


class Fluxtransfer(Stage):
    name = "fluxtransfer"
    Inputs = FluxtransferInputs
    Summary = FluxtransferSummary
    description = "Flux transfer from the reference (joint estimator or CASA's fluxscale), error budget, derived fluxes, QA"

    uses_cube = True
    front_template = "front_fluxtransfer.html"

    def plots(self, rec, st, outdir, base, abspath):
        from ..weblog.plots import amp_vs_time, antenna_ratios, flux_vs_freq, transfer_ampuv
        sm = self.summary_of(rec)
        amptime = amp_vs_time(abspath(rec.artefacts["amptime"]), outdir, base) if "amptime" in rec.artefacts else []
        return flux_vs_freq(sm.fluxes, outdir, base) + amptime + \
            transfer_ampuv(abspath(rec.artefacts["ampuv"]), sm.fluxes, outdir, base) + \
            antenna_ratios(sm.antennas, outdir, base)

    def page(self, rec, st):
        """The flux table's rows (one per field and spw), each note once with the spws it is
        about, and the per-antenna table's outliers and largest deviations."""
        intents = {f.name: ",".join(f.intents) for f in st.fields}
        sm = self.summary_of(rec)
        rows, notes = [], {}
        for f, res in sm.fluxes.items():
            for spw, v in res.spws.items():
                n = None
                if v.drift_note:
                    n = notes.setdefault(v.drift_note, {"n": len(notes) + 1, "text": v.drift_note, "where": []})
                    n["where"].append(f"{f} spw {spw}")
                rows.append({"field": f, "res": res, "intents": intents.get(f, ""), "spw": spw, "v": v,
                             "note": n["n"] if n else None})
        ants = sm.antennas
        worst = sorted(ants, key=lambda a: -abs(a.deviation_sigma))[:5]
        return {"fluxrows": rows, "notes": list(notes.values()),
                "outliers": [a for a in ants if a.outlier], "largest": worst}

    def front(self, context, done):
        """Every MS's transfer fluxes (as in fluxes.json), each linked to its MS's page, and the
        overview figure: every calibrator's flux vs frequency with the reference's model."""
        from ..weblog.plots import overview
        href = {rec.ms: h for rec, h in done}
        pts = []
        for ms, st in context.ms.items():
            m = st.reference_model
            if m is not None and m.per_spw:
                sv = sorted(m.per_spw.values(), key=lambda v: v.reffreq)
                pts.append({"ms": ms, "field": st.reference, "model": True, "freq_ghz": [v.reffreq / 1e9 for v in sv],
                            "flux_jy": [v.flux for v in sv], "error_jy": None})
            for f, res in st.fluxes.items():
                sp = sorted((v for v in res.spws.values() if v.flux_jy), key=lambda v: v.freq_hz)
                if not sp:
                    continue
                fr = np.array([v.freq_hz for v in sp])
                fit = None
                if res.fit.reffreq_hz:
                    x = np.linspace(fr.min() * 0.98, fr.max() * 1.02, 30)
                    fit = (x / 1e9, power_law(x, res.fit.flux_jy, res.fit.reffreq_hz, res.fit.spidx_poly))
                pts.append({"ms": ms, "field": f, "model": False, "freq_ghz": fr / 1e9,
                            "flux_jy": [v.flux_jy for v in sp], "error_jy": [v.error_jy or 0 for v in sp], "fit": fit})
        return {"rows": [{"ms": ms, "field": f, "spw": spw, "v": v, "href": href.get(ms, "")}
                         for ms, st in context.ms.items() for f, res in st.fluxes.items()
                         for spw, v in res.spws.items()],
                "figures": overview(pts, os.path.join(context.outdir, "weblog")) if pts else []}

    def cube_fields(self, s, inputs):
        """The user's transfer fields (setmodel's are in the cube anyway; an unknown name is
        reported by run)."""
        return {f.id for f in s.md.fields_named(inputs.transfer, known_only=True)}

    def run(self, s, inputs, user):
        context, ms, md, st = s.context, s.name, s.md, s.state
        amp = needs(context, ms, "amplitude", self.name)
        phase = needs(context, ms, "phase", self.name)
        heur = {}
        tr = [f.name for f in md.fields_named(inputs.transfer)]
        targets = {f.name for f in st.fields if f.role == "target"}
        for t in tr:
            if t in targets:
                raise PipelineError(f"fluxtransfer.transfer: {t} is a science target (never solved); give "
                                    f"calibrators: {', '.join(st.transfer) or 'none found'}")
            if t in st.references:
                raise PipelineError(f"transfer field {t} is the reference; fields: {field_list(md)}; "
                                    f"leave {t} out of fluxtransfer.transfer")
        if not tr:
            tr = list(st.transfer)
            heur["transfer"] = ",".join(tr)
        if not tr:
            raise PipelineError(f"{ms}: no transfer field besides the reference {', '.join(st.references)}; "
                                f"fields: {field_list(md)}; set fluxtransfer.transfer")
        tr_ids = [md.field_by_name(t).id for t in tr]
        if inputs.antenna and not len(antenna_set(inputs.antenna, md)):
            raise PipelineError(f"fluxtransfer.antenna={inputs.antenna!r} selects no antenna of {ms}; give "
                                f"a selection that keeps some (names: {', '.join(a.name for a in md.antennas[:6])}, ...)")
        cube, ref = s.cube(fields=sorted(set(cube_fields(st)) | set(tr_ids)))
        ct = read_caltable(context.abspath(amp.table))
        have = set(np.unique(ct.field_id).tolist())
        casa_order = 1 if inputs.fitorder is None else inputs.fitorder
        d = compute(ct, md, st.references, [t for t in tr if md.field_by_name(t).id in have],
                    inputs.refspwmap, inputs.gainthreshold, inputs.antenna, "", "", casa_order) \
            if have & set(tr_ids) else {"spwID": [], "freq": [], "_mgratio": {}, "_fitnote": {}}
        fluxes = field_fluxes(d, st)
        ant_rows, outliers, refacc = apply_estimator(inputs, st, md, ct, d, fluxes)
        used = [s.id for s in st.spws if s.used] or [s.id for s in md.spws]
        for t, fid in zip(tr, tr_ids):
            r = fluxes.setdefault(t, FieldFlux(field_id=fid, fit=SpectralFitResult(
                flux_jy=-1.0, error_jy=0.0, reffreq_hz=0.0, spidx=0.0, spidx_err=0.0)))
            r.spws = {k: v for k, v in r.spws.items() if k in used}   # unsolved windows: not reported
            for spw in used:
                v = r.spws.get(spw)
                if v is None or v.missing:
                    r.spws[spw] = SpwFlux(freq_hz=v.freq_hz if v else md.spws[spw].centre_freq,
                                               missing=True, reason=missing_reason(cube, ct, fid, spw))
        rel = f"{ms}.fluxscaled.tbl"
        write_scaled(ct, md, context.abspath(rel), d.pop("_mgratio"), False)
        scaled = CalEntry(role="fluxscaled", table=rel, stage=self.name, gainfield="nearest")
        applier = Applier.for_ms([apply_spec(context, phase, "nearest", "linear", noise_bias=amp.debiased),
                                  apply_spec(context, scaled, "nearest", "linear")], md)
        present = [fid for t, fid in zip(tr, tr_ids) if any(not v.missing for v in fluxes[t].spws.values())]
        points: dict = {}
        for fid, per in derived_fluxes(cube, md, present, applier, points).items():
            fluxes[md.fields[fid].name].derived = per
        art = {"ampuv": _ampuv_artefact(context, ms, md, points)}
        qa = [completeness(ms, fluxes, [(f, s) for f in tr for s in used]), snr_qa(ms, fluxes)]
        qa += catalogue_qa(ms, fluxes, *inputs.catalogue_range)   # and k_spw_scores below: the spectral shape
        if inputs.estimator == "joint":
            qa.append(antenna_outliers(ms, outliers))
        qa += k_spw_scores(ms, md, fluxes)
        q, amptime = amp_time_score(ms, md, st, cube, ct, applier)
        qa += [q] if q else []
        if amptime:
            art["amptime"] = save_artefact(context, ms, "fluxtransfer.amptime", **amptime)
        lib = [e for e in st.callibrary if e.role != "fluxscaled"] + [scaled]
        return Results(stage=self.name, ms=ms, qa=qa, inputs=record_inputs(inputs, user, heur),
                       summary=FluxtransferSummary(
                           fluxes=fluxes, scaled_table=rel, estimator=inputs.estimator, antennas=ant_rows,
                           reference_accuracy=refacc, missing=sorted(f"{f} spw {s}: {v.reason}" for f, r in fluxes.items()
                                                                     for s, v in r.spws.items() if v.missing)),
                       artefacts=art,
                       updates={"fluxes": fluxes, "transfer": tr, "callibrary": lib, "cube": ref})


def apply_estimator(inputs, st, md, ct, d: dict, fluxes: dict) -> tuple[list, list, list]:
    """Fill both estimators' values and the error budget into `fluxes`; the chosen one becomes
    flux_jy/error_jy, scales the flux-scaled table (d['_mgratio']) and feeds the spectral fit."""
    from ..heuristics.fluxscale import fit_by_ic, order_by_fractional_bandwidth, spectral_fit
    ref_ids = [md.field_by_name(r).id for r in st.references]
    spws = sorted({s for r in fluxes.values() for s, v in r.spws.items() if not v.missing})
    fits = joint_estimates(ct, ref_ids, spws, inputs.refspwmap) if inputs.estimator == "joint" else {}
    frac, why = reference_accuracy(st.reference_model, inputs.reference_error)
    for r in fluxes.values():
        for s, v in r.spws.items():
            if v.missing:
                continue
            v.casa_flux_jy, v.casa_error_jy = v.flux_jy, v.error_jy
            jf = fits.get(s)
            if jf is not None and r.field_id in jf.flux and not _usable(jf, r.field_id):
                v.drift_note = (f"joint estimator degenerate here (flux {jf.flux[r.field_id]:.4g} Jy, error "
                                f"{jf.stat_err[r.field_id]:.2g} Jy): CASA's estimator used")
                jf = None
            if jf is not None and r.field_id in jf.flux:
                stat, temp = jf.stat_err[r.field_id], jf.temporal_err.get(r.field_id, 0.0)
                v.joint_flux_jy, v.joint_error_jy = jf.flux[r.field_id], float(np.hypot(stat, temp))
                v.drift_order, v.drift_note = jf.order, jf.note
            if inputs.estimator == "joint" and v.joint_flux_jy is not None:
                v.flux_jy, v.error_jy, v.estimator = v.joint_flux_jy, v.joint_error_jy, "joint"
                v.error_stat_jy, v.error_temporal_jy = stat, temp
                d["_mgratio"][(r.field_id, s)] = float(np.sqrt(v.flux_jy))
            else:
                v.estimator, v.error_stat_jy, v.error_temporal_jy = "casa", v.error_jy, None
            v.snr = v.flux_jy / v.error_jy if v.error_jy else None
            if v.catalogue_jy:
                v.ratio = v.flux_jy / v.catalogue_jy
            v.error_reference_jy = frac * v.flux_jy
            v.error_total_jy = float(np.hypot(v.error_jy or 0.0, v.error_reference_jy))
        good = [(v.freq_hz, v.flux_jy, v.error_jy) for v in r.spws.values() if not v.missing]
        if good and (inputs.estimator == "joint" or inputs.fitorder is None):
            fr, fd, fe = (np.array(x) for x in zip(*good))
            order, why = inputs.fitorder, ""
            if order is None and inputs.fitorder_rule == "fractional_bandwidth":
                ids = [s for s, v in r.spws.items() if not v.missing]
                edges = [(md.spws[s].chan_freq - np.abs(md.spws[s].chan_width) / 2).min() for s in ids] + \
                        [(md.spws[s].chan_freq + np.abs(md.spws[s].chan_width) / 2).max() for s in ids]
                order, why = order_by_fractional_bandwidth(min(edges), max(edges), len(ids))
            fit = fit_by_ic(fr, fd, fe) if order is None else spectral_fit(fr, fd, fe, order)
            if why:
                fit.note = why + (f"; {fit.note}" if fit.note else "")
            if inputs.estimator == "casa" and inputs.fitorder is None:
                continue                  # CASA's own order-1 fit (compute) stays
            r.fit = SpectralFitResult.from_fit(fit, {s: v.freq_hz for s, v in r.spws.items()})
    npol = ct.cparam.shape[2]
    rows, outliers = antenna_table(fits, ct.antenna_names or [a.name for a in md.antennas],
                                   [f.name for f in md.fields], npol)
    return rows, outliers, [frac, why]


def _usable(jf, f: int) -> bool:
    """A joint flux with a finite, non-vanishing error (>= 1e-6 of the flux)."""
    flux, err = jf.flux[f], jf.stat_err[f]
    return bool(np.isfinite(flux) and flux > 0 and np.isfinite(err) and err >= 1e-6 * flux)


def missing_reason(cube, ct, field_id: int, spw: int) -> str:
    """Why a field has no flux in a spw: no rows, all flagged, or no solution good enough."""
    rows, valid = cube.valid_rows(field_id, spw)
    if rows == 0:
        return "no rows (not observed in this spw, or not selected)"
    if valid == 0:
        return "all data flagged"
    sel = (ct.field_id == field_id) & (ct.spw_id == spw)
    if not sel.any() or ct.flag[sel].all():
        snr = ct.snr[sel]
        if (snr > 0).any():
            return f"all amplitude solutions flagged (best SNR {float(snr.max()):.1f}: below minsnr or outliers)"
        return "no amplitude solutions (too few baselines per antenna)"
    return "the reference has no solutions to compare with in the mapped spw"
