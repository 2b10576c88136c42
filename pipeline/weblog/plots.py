"""The figures of the stages' pages, from what the stages saved (artefacts, results), for the
stages' `plots` methods: the weblog never reads the MS or a caltable. Each function returns
figures.Figure descriptions (drawn later, in parallel, by figures.draw_all)."""
from __future__ import annotations

import math

import numpy as np

from ..heuristics.standards import power_law
from .figures import PALETTE, Figure, Panel, figure


def _grid(n: int) -> dict:
    """Layout of n spw panels: side by side up to 2, small multiples beyond 4."""
    if n <= 1:
        return {"ncols": 1}
    if n <= 4:
        return {"ncols": 2, "width_in": 11.0, "panel_height_in": 2.6}
    return {"ncols": 4, "width_in": 12.8, "panel_height_in": 1.8, "share": True}


def _per_field(outdir: str, name: str, alt: str, caption: str, panels: list[Panel], group: str) -> list[Figure]:
    """A panel per transfer field, three to a row ([] without panels)."""
    if not panels:
        return []
    n = min(3, len(panels))
    return [figure(outdir, name, alt, caption, panels, ncols=n, width_in=4.2 * n, panel_height_in=2.8, group=group)]


def _solutions(npz: str) -> dict:
    with np.load(npz) as z:
        return {"t": z["time"], "spw": z["spw"], "ant": z["antenna"], "cp": z["cparam"], "fl": z["flag"],
                "names": [str(n) for n in z["antenna_names"]]}


def gain_vs_time(npz: str, outdir: str, base: str, what: str) -> list[Figure]:
    """A panel per spw: phase or amplitude of every solution vs time, a colour per antenna,
    flagged solutions as black x."""
    z = _solutions(npz)
    t, spw, ant, cp, fl, names = z["t"], z["spw"], z["ant"], z["cp"], z["fl"], z["names"]
    t0 = t.min() if t.size else 0.0
    panels, notes = [], []
    for s in np.unique(spw):
        rows = spw == s
        tt = (t[rows] - t0) / 60
        val = np.angle(cp[rows], deg=True) if what == "phase" else np.abs(cp[rows])
        f = fl[rows]
        p = Panel(f"spw {s}: gain {what}", "time since start (min)",
                  "phase (deg)" if what == "phase" else "gain amplitude")
        for a in np.unique(ant[rows]):
            m = ant[rows] == a
            tv = np.repeat(tt[m][:, None], val.shape[1], 1)
            p.points(tv[~f[m]], val[m][~f[m]], PALETTE[int(a) % len(PALETTE)], size=2.5)
        if f.any():
            tv = np.repeat(tt[:, None], val.shape[1], 1)
            p.points(tv[f], val[f], "black", label=f"flagged ({int(f.sum())})", marker="x", size=4)
        panels.append(p)
        bad = sorted({names[int(a)] if names else str(a) for a in ant[rows][f.any(axis=1)]})
        notes.append(f"spw {s}: {', '.join(bad) if bad else 'none'}")
    if not panels:
        return []
    who = base.split("_")[1]
    return [figure(outdir, f"{base}_{what}.png",
                   f"{what} of the {who} solutions vs time, a panel per spw, flagged points marked x",
                   f"Gain {what} vs time, a panel per spw, a colour per antenna ({len(np.unique(ant))} "
                   f"antennas). Antennas with flagged solutions: {'; '.join(notes)}.",
                   panels, group=f"Gain {what} vs time", **_grid(len(panels)))]


def gain_per_antenna(npz: str, outdir: str, base: str) -> list[Figure]:
    """Small multiples: a panel per antenna, its gain amplitudes vs time over the median of their
    field and spw (all antennas, so every calibrator's flux divides out), a colour per spw
    (polarisations alike), flagged solutions as black x; the panels share their axes so an
    antenna that drifts or jumps stands out. Each panel's box: the rms of its relative gains."""
    z = _solutions(npz)
    t, spw, ant, cp, fl, names = z["t"], z["spw"], z["ant"], z["cp"], z["fl"], z["names"]
    if not t.size:
        return []
    with np.load(npz) as zz:
        field = zz["field"]
    t0 = t.min()
    amp = np.abs(cp).astype(float)
    rel = np.full_like(amp, np.nan)
    for key in np.unique(field * 100000 + spw):
        m = field * 100000 + spw == key
        good = amp[m][~fl[m]]
        if good.size:
            rel[m] = amp[m] / np.median(good)
    spws = [int(s) for s in np.unique(spw)]
    panels, spread = [], []
    for a in np.unique(ant):
        ma = ant == a
        name = names[int(a)] if names else str(a)
        p = Panel(name, "time since start (min)", "gain amplitude / median of its field and spw")
        for j, s in enumerate(spws):
            m = ma & (spw == s)
            tv = np.repeat(((t[m] - t0) / 60)[:, None], amp.shape[1], 1)
            p.points(tv[~fl[m]], rel[m][~fl[m]], PALETTE[j % len(PALETTE)], label=f"spw {s}", size=2.5)
        if fl[ma].any():
            tv = np.repeat(((t[ma] - t0) / 60)[:, None], amp.shape[1], 1)
            p.points(tv[fl[ma]], rel[ma][fl[ma]], "black", label="flagged", marker="x", size=4)
        good = rel[ma][~fl[ma]]
        good = good[np.isfinite(good)]
        rms = float(np.sqrt(np.mean((good - 1) ** 2))) if good.size else 0.0
        p.note = f"{100 * rms:.1f} %"
        spread.append((rms, name))
        panels.append(p)
    worst = ", ".join(f"{n} {100 * r:.1f} %" for r, n in sorted(spread, reverse=True)[:3])
    ncols = 6 if len(panels) > 8 else 4
    return [figure(outdir, f"{base}_amp_antennas.png",
                   f"relative gain amplitude vs time, a panel per antenna ({len(panels)}), a colour per spw",
                   f"Gain amplitude over the median of its field and spw (all antennas) vs time for each of "
                   f"{len(panels)} antennas (shared axes; a colour per spw, both polarisations; flagged: x). Each "
                   f"panel's box: the rms of its relative gains about 1; largest: {worst}.", panels, ncols=ncols,
                   width_in=12.8, panel_height_in=1.25, share=True, group="Gain amplitude per antenna")]


def flux_vs_freq(fluxes: dict, outdir: str, base: str) -> list[Figure]:
    """Per transfer field (FieldFlux): fluxes with errors, the fitted spectrum and the catalogue."""
    panels = []
    for f, r in fluxes.items():
        sp = [v for v in r.spws.values() if v.flux_jy]
        if not sp:
            continue
        fr = np.array([v.freq_hz for v in sp]) / 1e9
        fit = r.fit
        p = Panel(f"{f}: spectral index {fit.spidx:.2f} ± {fit.spidx_err:.2f}", "frequency (GHz)",
                  "flux density (Jy)")
        p.errorbar(fr, [v.flux_jy for v in sp], [v.error_jy or 0 for v in sp], PALETTE[0], "derived")
        if fit.reffreq_hz:
            x = np.linspace(fr.min() * 0.98, fr.max() * 1.02, 50)
            p.line(x, power_law(x * 1e9, fit.flux_jy, fit.reffreq_hz, fit.spidx_poly), PALETTE[1], "fit")
        cat = [(v.freq_hz / 1e9, v.catalogue_jy) for v in sp if v.catalogue_jy]
        if cat:
            p.points(*zip(*cat), PALETTE[2], "catalogue", size=5, marker="s")
        p.note = f"{fit.flux_jy:.4g} Jy at {fit.reffreq_hz / 1e9:.4g} GHz"
        panels.append(p)
    return _per_field(outdir, f"{base}_flux.png",
                      f"flux density vs frequency of {len(panels)} transfer fields with error bars, fitted "
                      f"spectra and catalogue values",
                      "A panel per transfer field: derived flux per spw (±1σ), the fitted spectrum (its value at "
                      "the reference frequency in the box), catalogue values (squares).",
                      panels, "Flux density vs frequency")


def amp_vs_uvdist(npz: str, outdir: str, base: str, reference: str, selected: list[int]) -> list[Figure]:
    """Reference: raw amplitude vs uv distance (selected antennas highlighted) and the model."""
    with np.load(npz) as z:
        uv, amp, a1, a2 = z["uv"], z["amp"], z["antenna1"], z["antenna2"]
        q, m, spw = z["model_uv"], z["model_amp"], int(z["spw"])
        pts = z["model_pts"] if "model_pts" in z.files else None
        level = float(z["point_level"]) if "point_level" in z.files else 0.0
        kind = str(z["structure"]) if "structure" in z.files else ""
    insel = np.isin(a1, selected) & np.isin(a2, selected) if selected else np.zeros(len(uv), bool)
    p = Panel(f"{reference}, spw {spw}: amplitude vs uv distance", "uv distance (m)",
              "amplitude (Jy, before calibration)")
    p.points(uv[~insel], amp[~insel], "#999999", "data", size=2.5)
    if selected:
        p.points(uv[insel], amp[insel], PALETTE[1], "data, selected antennas", size=3)
    if pts is not None:      # a 2-D structure: its model at every plotted visibility, and a point
        p.points(uv, pts, PALETTE[0], kind, size=2)
        p.hline(level, PALETTE[2], "point model", dash=True)
    else:
        p.line(q, m, PALETTE[0], "model")
    return [figure(outdir, f"{base}_ampuv.png",
                   f"amplitude vs uv distance of the reference {reference} (data and model, selected "
                   f"antennas highlighted)",
                   f"{reference}: channel-averaged visibility amplitude of {len(uv)} baselines-integrations "
                   + (f"; the {kind} at each visibility and the point model's level" if kind else
                      " and the model's uv profile")
                   + (f"; {len(selected)} antennas selected for the resolved reference." if selected else "."),
                   [p], group="Reference against its model")]


def antenna_ratios(rows: list, outdir: str, base: str) -> list[Figure]:
    """Per transfer field: the flux each antenna (and polarisation) alone gives (AntennaFlux
    rows), per spw, with its error; outlier antennas in black."""
    panels, notes = [], []
    for f in dict.fromkeys(r.field for r in rows):
        fr = [r for r in rows if r.field == f]
        names = list(dict.fromkeys(r.antenna for r in fr))
        p = Panel(f"{f}: flux per antenna (a colour per spw)", "antenna index", "flux density (Jy)")
        for j, s in enumerate(sorted({r.spw for r in fr})):
            rs = [r for r in fr if r.spw == s]
            x = np.array([names.index(r.antenna) + 0.15 * r.pol + 0.05 * j for r in rs])
            p.errorbar(x, [r.flux_jy for r in rs], [r.error_jy for r in rs],
                       PALETTE[j % len(PALETTE)], f"spw {s}", marker=".")
            bad = [(xx, r.flux_jy) for xx, r in zip(x, rs) if r.outlier]
            if bad:
                p.points(*zip(*bad), "black", "outlier" if j == 0 else "", size=5, marker="x")
        outl = sorted({r.antenna for r in fr if r.outlier})
        notes.append(f"{f}: {', '.join(outl) if outl else 'none'}")
        panels.append(p)
    return _per_field(outdir, f"{base}_antennas.png",
                      f"per-antenna flux of {len(panels)} transfer fields for every spw with error bars, outliers x",
                      f"The flux each antenna gives alone (polarisations side by side, x: the antenna's index in "
                      f"the table below). Outliers: {'; '.join(notes)}.", panels, "Per-antenna fluxes")


def cross_eb(summary, outdir: str, base: str) -> list[Figure]:
    """Per field (a CrossField): its flux in every EB (x: EB) and spw, with errors, and
    the groups' means."""
    out = []
    for k, (f, res) in enumerate(summary.fields.items()):
        ebs = res.ebs
        p = Panel(f"{f}: flux per EB (chi2 {res.chi2:.1f} / {res.dof}, p = {res.p:.2g})",
                  "EB (order of the run)", "flux density (Jy)")
        for j, g in enumerate(res.groups):
            rs = [res.rows[i] for i in g.members]
            x = np.array([ebs.index(r.ms) + 0.06 * j for r in rs])
            col = PALETTE[j % len(PALETTE)]
            p.errorbar(x, [r.flux_jy for r in rs], [r.error_jy for r in rs], col, f"{g.freq_hz / 1e9:.2f} GHz")
            p.line([-0.2, len(ebs) - 0.8], [g.mean_jy] * 2, col, dash=True)
        out.append(figure(outdir, f"{base}_field{k}.png",
                          f"flux of {f} in each of {len(ebs)} EBs per frequency, with error bars and means",
                          f"{f}: flux per EB ({', '.join(ebs)}) and frequency (±1σ), dashed: the weighted "
                          f"mean per frequency; chi2 {res.chi2:.1f} for {res.dof} dof.", [p],
                          group="Flux per EB"))
    return out


def transfer_ampuv(npz: str, fluxes: dict, outdir: str, base: str) -> list[Figure]:
    """Per transfer field: calibrated amplitude vs uv distance (first spw) with the transfer flux
    (a point source of that flux) and the derived (vector-averaged) flux over it."""
    with np.load(npz) as z:
        field, spw, uv, amp = z["field"], z["spw"], z["uv"], z["amp"]
    panels = []
    for f in dict.fromkeys(field.tolist()):
        m = field == f
        s = int(spw[m][0])
        v = fluxes[f].spws.get(s) if f in fluxes else None
        d = fluxes[f].derived.get(s) if f in fluxes else None
        p = Panel(f"{f}, spw {s}", "uv distance (m)", "calibrated amplitude (Jy)")
        p.points(uv[m], amp[m], "#999999", "data", size=2.5)
        if v is not None and v.flux_jy:
            p.hline(v.flux_jy, PALETTE[0], f"transfer {v.flux_jy:.4g} Jy")
        if d is not None and d.flux_jy:
            p.hline(d.flux_jy, PALETTE[1], f"derived {d.flux_jy:.4g} Jy", dash=True)
        panels.append(p)
    return _per_field(outdir, f"{base}_ampuv.png",
                      f"calibrated amplitude vs uv distance of {len(panels)} transfer fields with their transfer "
                      f"and derived fluxes",
                      "Calibrated visibilities (phase-up and flux-scaled gains applied) of each transfer field's "
                      "first spw; solid: the transfer flux as a point model; dashed: the derived flux.",
                      panels, "Calibrated amplitude vs uv distance")


def amp_vs_time(npz: str, outdir: str, base: str) -> list[Figure]:
    """The amplitude calibrator's per-integration mean calibrated amplitude vs time on the spw
    its check uses, with the P20/P80 band and the variation metric."""
    with np.load(npz) as z:
        if "time" not in z.files or not z["time"].size:
            return []
        t, a, field, spw = z["time"], z["mean"], str(z["field"]), int(z["spw"])
        metric = float(z["variation"]) if np.isfinite(z["variation"]) else math.nan
    tt = (t - t.min()) / 60
    p20, p50, p80 = np.percentile(a, [20, 50, 80], method="nearest")
    p = Panel(f"{field}, spw {spw}: mean calibrated amplitude per integration", "time since its first "
              "integration (min)", "amplitude (Jy)")
    p.points(tt, a, PALETTE[0], "per integration", size=3)
    p.hline(p50, "black", "median")
    p.hline(p20, PALETTE[3], "P20, P80", dash=True)
    p.hline(p80, PALETTE[3], dash=True)
    p.note = f"(P80 - P20) / median = {100 * metric:.2f} %"
    return [figure(outdir, f"{base}_amptime.png",
                   f"amplitude of the amplitude calibrator {field} vs time, spw {spw}, variation {100 * metric:.2f} %",
                   f"{field}, spw {spw} (its highest-SNR spw of at least 1 GHz, else the widest): the mean calibrated "
                   f"amplitude of each of {len(t)} integrations; the QA's variation metric (P80 - P20) / median = "
                   f"{100 * metric:.2f} % (1.0 at 0 %, 0.66 at 13 %, 0.34 at 26 %).", [p],
                   group="Amplitude calibrator vs time")]


def overview(rows: list[dict], outdir: str) -> list[Figure]:
    """The front page's picture: flux density vs frequency of every calibrator of every MS (log
    axes; a colour per field, a marker per MS), the fitted spectra, the reference's model."""
    fields = list(dict.fromkeys(r["field"] for r in rows))
    mses = list(dict.fromkeys(r["ms"] for r in rows))
    marks = ["o", "s", "^", "d"]
    p = Panel("Flux density vs frequency: every calibrator", "frequency (GHz)", "flux density (Jy)",
              xlog=True, ylog=True, legend_out=True)
    for r in rows:
        col = PALETTE[fields.index(r["field"]) % len(PALETTE)]
        lab = r["field"] + (f" ({r['ms']})" if len(mses) > 1 else "") + (" model" if r["model"] else "")
        if r["model"]:
            p.line(r["freq_ghz"], r["flux_jy"], col, lab, dash=True)
            p.points(r["freq_ghz"], r["flux_jy"], col, size=4, marker="d")
        else:
            p.errorbar(r["freq_ghz"], r["flux_jy"], r["error_jy"], col, lab,
                       marker=marks[mses.index(r["ms"]) % len(marks)])
            if r.get("fit") is not None:
                p.line(*r["fit"], col)
    return [figure(outdir, "overview.png", f"flux density vs frequency of {len(fields)} calibrators in "
                   f"{len(mses)} MS{'es' if len(mses) > 1 else ''}",
                   "Every calibrator's flux density per spw (±1σ; a marker per MS) with its fitted spectrum, and "
                   "the amplitude calibrator's model (dashed), on log axes.", [p], width_in=8.0,
                   panel_height_in=3.6)]
