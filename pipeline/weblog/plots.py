"""Plots from what the stages saved (artefacts, results), for the stages' `plots` methods: the
weblog never reads the MS or a caltable. Each function returns [{'src', 'alt', 'caption'}]."""
from __future__ import annotations

import os

import numpy as np

from ..heuristics.standards import power_law
from .svg import PALETTE, Plot


def _img(plot: Plot, outdir: str, name: str, alt: str, caption: str) -> dict:
    plot.save(os.path.join(outdir, name))
    return {"src": name, "alt": alt, "caption": caption}


def gain_vs_time(npz: str, outdir: str, base: str, what: str) -> list[dict]:
    """Per spw: phase or amplitude of every solution vs time, a colour per antenna, flags as x."""
    with np.load(npz) as z:
        t, spw, ant, cp, fl = z["time"], z["spw"], z["antenna"], z["cparam"], z["flag"]
        names = list(z["antenna_names"])
    out = []
    t0 = t.min() if t.size else 0.0
    for s in np.unique(spw):
        rows = spw == s
        tt = (t[rows] - t0) / 60
        val = np.angle(cp[rows], deg=True) if what == "phase" else np.abs(cp[rows])
        f = fl[rows]
        p = Plot(f"spw {s}: {what} vs time (a colour per antenna)", "time since start (min)",
                 "phase (deg)" if what == "phase" else "gain amplitude")
        for a in np.unique(ant[rows]):
            m = ant[rows] == a
            tv = np.repeat(tt[m][:, None], val.shape[1], 1)
            p.points(tv[~f[m]], val[m][~f[m]], PALETTE[int(a) % len(PALETTE)], size=3)
        tv = np.repeat(tt[:, None], val.shape[1], 1)
        if f.any():
            p.points(tv[f], val[f], "black", label=f"flagged ({int(f.sum())})", marker="x", size=3)
        bad = sorted({names[int(a)] if names else str(a) for a in ant[rows][f.any(axis=1)]})
        out.append(_img(p, outdir, f"{base}_{what}_spw{s}.svg",
                        f"{what} of the {base.split('_')[1]} solutions vs time for spw {s}, "
                        f"{int(f.sum())} flagged points marked x",
                        f"Gain {what} vs time, spw {s}; {len(np.unique(ant[rows]))} antennas; flagged: "
                        f"{', '.join(bad) if bad else 'none'}."))
    return out


def flux_vs_freq(fluxes: dict, outdir: str, base: str) -> list[dict]:
    """Per transfer field (FieldFlux): fluxes with errors, the fitted spectrum and the catalogue."""
    out = []
    for k, (f, r) in enumerate(fluxes.items()):
        sp = [v for v in r.spws.values() if v.flux_jy]
        if not sp:
            continue
        fr = np.array([v.freq_hz for v in sp]) / 1e9
        fit = r.fit
        p = Plot(f"{f}: spectral index {fit.spidx:.2f} ± {fit.spidx_err:.2f}", "frequency (GHz)",
                 "flux density (Jy)", 560, 300)
        p.errorbar(fr, [v.flux_jy for v in sp], [v.error_jy or 0 for v in sp], PALETTE[0], "derived")
        if fit.reffreq_hz:
            x = np.linspace(fr.min() * 0.98, fr.max() * 1.02, 50)
            y = power_law(x * 1e9, fit.flux_jy, fit.reffreq_hz, fit.spidx_poly)
            p.line(x, y, PALETTE[1], "fit")
        cat = [(v.freq_hz / 1e9, v.catalogue_jy) for v in sp if v.catalogue_jy]
        if cat:
            p.points(*zip(*cat), PALETTE[2], "catalogue", size=7)
        out.append(_img(p, outdir, f"{base}_flux_{k}.svg",
                        f"flux density of {f} vs frequency with error bars, fitted spectrum and catalogue",
                        f"{f}: derived flux per spw (±1σ), fitted spectrum "
                        f"{fit.flux_jy:.4g} Jy at {fit.reffreq_hz / 1e9:.4g} GHz, catalogue values."))
    return out


def amp_vs_uvdist(npz: str, outdir: str, base: str, reference: str, selected: list[int]) -> list[dict]:
    """Reference: raw amplitude vs uv distance (selected antennas highlighted) and the model."""
    with np.load(npz) as z:
        uv, amp, a1, a2 = z["uv"], z["amp"], z["antenna1"], z["antenna2"]
        q, m, spw = z["model_uv"], z["model_amp"], int(z["spw"])
        pts = z["model_pts"] if "model_pts" in z.files else None
        level = float(z["point_level"]) if "point_level" in z.files else 0.0
        kind = str(z["structure"]) if "structure" in z.files else ""
    insel = np.isin(a1, selected) & np.isin(a2, selected) if selected else np.zeros(len(uv), bool)
    p = Plot(f"{reference}, spw {spw}: amplitude vs uv distance", "uv distance (m)",
             "amplitude (Jy, before calibration)")
    p.points(uv[~insel], amp[~insel], "#999999", "data", size=3)
    if selected:
        p.points(uv[insel], amp[insel], PALETTE[1], "data, selected antennas", size=3.5)
    if pts is not None:      # a 2-D structure: its model at every plotted visibility, and a point
        p.points(uv, pts, PALETTE[0], kind, size=2.5)
        p.line([0.0, float(uv.max()) if uv.size else 1.0], [level, level], PALETTE[2], "point model", dash=True)
    else:
        p.line(q, m, PALETTE[0], "model")
    return [_img(p, outdir, f"{base}_ampuv.svg",
                 f"amplitude vs uv distance of the reference {reference} (data and model, selected "
                 f"antennas highlighted)",
                 f"{reference}: channel-averaged visibility amplitude of {len(uv)} baselines-integrations "
                 + (f"; the {kind} at each visibility and the point model's level" if kind else
                    " and the model's uv profile")
                 + (f"; {len(selected)} antennas selected for the resolved reference." if selected else "."))]


def antenna_ratios(rows: list[dict], outdir: str, base: str) -> list[dict]:
    """Per transfer field: the flux each antenna (and polarisation) alone gives, per spw, with its
    error; the joint flux as a line; outlier antennas in black."""
    out = []
    for k, f in enumerate(dict.fromkeys(r["field"] for r in rows)):
        fr = [r for r in rows if r["field"] == f]
        names = list(dict.fromkeys(r["antenna"] for r in fr))
        p = Plot(f"{f}: flux per antenna (x: antenna, a colour per spw)", "antenna index", "flux density (Jy)",
                 720, 320)
        for j, s in enumerate(sorted({r["spw"] for r in fr})):
            rs = [r for r in fr if r["spw"] == s]
            x = np.array([names.index(r["antenna"]) + 0.15 * r["pol"] + 0.05 * j for r in rs])
            p.errorbar(x, [r["flux_jy"] for r in rs], [r["error_jy"] for r in rs],
                       PALETTE[j % len(PALETTE)], f"spw {s}")
            bad = [(xx, r["flux_jy"]) for xx, r in zip(x, rs) if r.get("outlier")]
            if bad:
                p.points(*zip(*bad), "black", "outlier" if j == 0 else "", size=4, marker="x")
        outl = sorted({r["antenna"] for r in fr if r.get("outlier")})
        out.append(_img(p, outdir, f"{base}_antennas_{k}.svg",
                        f"per-antenna flux of {f} for every spw with error bars, outliers marked x",
                        f"{f}: the flux each of {len(names)} antennas gives alone (polarisations side by "
                        f"side); antenna order: {', '.join(names[:12])}{' ...' if len(names) > 12 else ''}; "
                        f"outliers: {', '.join(outl) if outl else 'none'}."))
    return out


def cross_eb(summary: dict, outdir: str, base: str) -> list[dict]:
    """Per field: its flux in every EB (x: EB) and spw, with errors, and the groups' means."""
    out = []
    for k, (f, res) in enumerate(summary.get("fields", {}).items()):
        ebs = res["ebs"]
        p = Plot(f"{f}: flux per EB (chi2 {res['chi2']:.1f} / {res['dof']}, p = {res['p']:.2g})",
                 "EB (order of the run)", "flux density (Jy)", 640, 320)
        groups = res["groups"]
        for j, g in enumerate(groups):
            rs = [res["rows"][i] for i in g["members"]]
            x = np.array([ebs.index(r["ms"]) + 0.06 * j for r in rs])
            col = PALETTE[j % len(PALETTE)]
            p.errorbar(x, [r["flux_jy"] for r in rs], [r["error_jy"] for r in rs], col,
                       f"{g['freq_hz'] / 1e9:.2f} GHz")
            p.line([-0.2, len(ebs) - 0.8], [g["mean_jy"]] * 2, col, dash=True)
        out.append(_img(p, outdir, f"{base}_field{k}.svg",
                        f"flux of {f} in each of {len(ebs)} EBs per frequency, with error bars and means",
                        f"{f}: flux per EB ({', '.join(ebs)}) and frequency (±1σ), dashed: the weighted "
                        f"mean per frequency; chi2 {res['chi2']:.1f} for {res['dof']} dof."))
    return out


def transfer_ampuv(npz: str, fluxes: dict, outdir: str, base: str) -> list[dict]:
    """Per transfer field: calibrated amplitude vs uv distance (first spw) with the transfer flux
    (a point source of that flux) and the derived (vector-averaged) flux over it."""
    with np.load(npz) as z:
        field, spw, uv, amp = z["field"], z["spw"], z["uv"], z["amp"]
    out = []
    for k, f in enumerate(dict.fromkeys(field.tolist())):
        m = field == f
        s = int(spw[m][0])
        v = fluxes[f].spws.get(s) if f in fluxes else None
        d = fluxes[f].derived.get(s) if f in fluxes else None
        p = Plot(f"{f}, spw {s}: calibrated amplitude vs uv distance", "uv distance (m)", "amplitude (Jy)")
        p.points(uv[m], amp[m], "#999999", "data (calibrated)", size=3)
        top = float(uv[m].max()) if m.any() else 1.0
        if v is not None and v.flux_jy:
            p.line([0.0, top], [v.flux_jy] * 2, PALETTE[0], f"transfer flux {v.flux_jy:.4g} Jy")
        if d is not None and d.flux_jy:
            p.line([0.0, top], [d.flux_jy] * 2, PALETTE[1], f"derived {d.flux_jy:.4g} Jy", dash=True)
        out.append(_img(p, outdir, f"{base}_ampuv_{k}.svg",
                        f"calibrated amplitude of {f} vs uv distance, spw {s}, with its transfer and derived fluxes",
                        f"{f}, spw {s}: {int(m.sum())} calibrated visibilities (phase-up and flux-scaled gains "
                        f"applied); solid: the transfer flux as a point model; dashed: the derived flux."))
    return out
