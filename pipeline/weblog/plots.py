"""matplotlib PNGs for the stage pages. Each returns [{'src': relative path, 'alt': text}]."""
from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..caltable import read_caltable  # noqa: E402


def _save(fig, outdir: str, name: str, alt: str) -> dict:
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, name), dpi=80)
    plt.close(fig)
    return {"src": name, "alt": alt}


def gain_vs_time(table: str, outdir: str, base: str, what: str) -> list[dict]:
    ct = read_caltable(table)
    out = []
    for s in np.unique(ct.spw_id):
        fig, ax = plt.subplots(figsize=(7, 3.5))
        rows = ct.spw_id == s
        t = (ct.time[rows] - ct.time.min()) / 60
        val = np.angle(ct.cparam[rows, 0, :], deg=True) if what == "phase" else np.abs(ct.cparam[rows, 0, :])
        fl = ct.flag[rows, 0, :]
        for a in np.unique(ct.antenna1[rows]):
            m = ct.antenna1[rows] == a
            ax.plot(np.repeat(t[m][:, None], val.shape[1], 1)[~fl[m]], val[m][~fl[m]], ".", ms=3)
        ax.plot(np.repeat(t[:, None], val.shape[1], 1)[fl], val[fl], "kx", ms=6, label="flagged")
        ax.set_xlabel("time since start (min)")
        ax.set_ylabel("phase (deg)" if what == "phase" else "gain amplitude")
        ax.set_title(f"{os.path.basename(table)} spw {s}: {what} vs time, one colour per antenna")
        if fl.any():
            ax.legend(loc="best", fontsize=8)
        out.append(_save(fig, outdir, f"{base}_{what}_spw{s}.png",
                         f"{what} of the solutions in {os.path.basename(table)} vs time, spw {s}, "
                         f"{int(fl.sum())} flagged points marked x"))
    return out


def flux_vs_freq(fluxes: dict, outdir: str, base: str) -> list[dict]:
    out = []
    for k, (f, r) in enumerate(fluxes.items()):
        sp = [v for v in r["spws"].values() if v.get("flux_jy")]
        if not sp:
            continue
        fig, ax = plt.subplots(figsize=(6, 3.5))
        fr = np.array([v["freq_hz"] for v in sp]) / 1e9
        ax.errorbar(fr, [v["flux_jy"] for v in sp], [v["error_jy"] for v in sp], fmt="o", label="derived")
        fit = r["fit"]
        if fit.get("reffreq_hz"):
            x = np.linspace(fr.min() * 0.98, fr.max() * 1.02, 50)
            ax.plot(x, fit["flux_jy"] * (x * 1e9 / fit["reffreq_hz"]) ** fit["spidx"], "-", label="fit")
        cat = [(v["freq_hz"] / 1e9, v["catalogue_jy"]) for v in sp if v.get("catalogue_jy")]
        if cat:
            ax.plot(*zip(*cat), "s", mfc="none", label="catalogue")
        ax.set_xlabel("frequency (GHz)")
        ax.set_ylabel("flux density (Jy)")
        ax.set_title(f"{f}: spectral index {fit['spidx']:.2f} ± {fit['spidx_err']:.2f}")
        ax.legend(fontsize=8)
        out.append(_save(fig, outdir, f"{base}_flux_{k}.png",
                         f"flux density of {f} vs frequency with error bars, fitted spectrum and catalogue"))
    return out


def amp_vs_uvdist(st, outdir: str, base: str) -> list[dict]:
    from ..flux import SourceModel
    from ..ms import iter_chunks, read_metadata, select
    md = read_metadata(st.path)
    model = SourceModel(**st.reference_model)
    spw = md.spws[0]
    uv, amp, ant1, ant2 = [], [], [], []
    for ch in iter_chunks(md, select(md, field=st.reference, spw="0")):
        w = np.where(ch.flag, 0, ch.weight)
        v = (w * ch.data).sum(axis=(1, 2)) / np.maximum(w.sum(axis=(1, 2)), 1e-30)
        uv.append(np.hypot(ch.uvw[:, 0], ch.uvw[:, 1]))
        amp.append(np.abs(v))
        ant1.append(ch.antenna1)
        ant2.append(ch.antenna2)
        if sum(len(u) for u in uv) > 20000:
            break
    uv, amp, a1, a2 = (np.concatenate(x) for x in (uv, amp, ant1, ant2))
    sel = st.resolved.get("antennas") or []
    insel = np.isin(a1, sel) & np.isin(a2, sel) if sel else np.zeros(len(uv), bool)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(uv[~insel], amp[~insel], ".", ms=2, color="0.6", label="data (uncalibrated)")
    if sel:
        ax.plot(uv[insel], amp[insel], ".", ms=2, color="C1", label="data, selected antennas")
    q = np.linspace(0, uv.max(), 200)
    uvw = np.stack([q, np.zeros_like(q), np.zeros_like(q)], axis=1)
    m = np.broadcast_to(model.evaluate(0, spw.chan_freq[[spw.nchan // 2]], uvw), (len(q), 1))[:, 0]
    ax2 = ax.twinx()
    ax2.plot(q, np.abs(m), "C0-", label="model")
    ax2.set_ylabel("model amplitude (Jy)")
    ax.set_xlabel("uv distance (m)")
    ax.set_ylabel("|V| (uncalibrated)")
    ax.set_title(f"{st.reference}, spw 0: amplitude vs uv distance")
    ax.legend(loc="upper right", fontsize=8)
    return [_save(fig, outdir, f"{base}_ampuv.png",
                  f"amplitude vs uv distance of the reference {st.reference} (data and model, "
                  f"selected antennas highlighted)")]


def stage_plots(rec, st, outdir: str, base: str) -> list[dict]:
    s = rec.summary
    if rec.stage == "phaseup" and s.get("table"):
        return gain_vs_time(s["table"], outdir, base, "phase")
    if rec.stage in ("ampsolve",) and s.get("table"):
        return gain_vs_time(s["table"], outdir, base, "amplitude")
    if rec.stage == "ampflag":
        amp = [e.table for e in st.callibrary if e.stage == "ampsolve"]
        return gain_vs_time(amp[0], outdir, base, "amplitude") if amp else []
    if rec.stage == "fluxtransfer":
        return flux_vs_freq(s.get("fluxes", {}), outdir, base)
    if rec.stage == "resolvedcal" and st.reference_model:
        return amp_vs_uvdist(st, outdir, base)
    return []
