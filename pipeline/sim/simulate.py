"""Synthetic MeasurementSets with a known truth (tests, demo, benchmarks).

V_ij(t, nu) = g_i(t) conj(g_j(t)) M_ij(nu) + n, per polarisation (XX = g_iX g_jX* M, YY alike),
M = S(nu) for a point source at the phase centre, S(nu) * disk(q) for a resolved disk (a
numerical Hankel transform of I(r) ~ (1 - r^2)^limb, independent of the pipeline's Bessel
formula; a solar-system body's diameter from astropy's ephemeris at the observation's middle
and the preset's radius, with an ALMA-style FIELD/EPHEM*.tab when the preset asks for one),
S(nu) = S0 (nu/nu0)^alpha. Noise is complex Gaussian with standard deviation SIGMA on each of
the real and imaginary parts, per channel; WEIGHT = 1/SIGMA^2 applies to every channel (and
WEIGHT_SPECTRUM, when written, holds the same per channel).

Gains (truth['gains']): per antenna a, polarisation p and spw s
    g = A[a,p,s] (1 + dA[a] sin(2 pi (t-t0)/P[a] + psi[a])) exp(i (phi0[a,p,s] + rate[a] (t-t0)
        + wob[a] sin(2 pi (t-t0)/Pw[a] + psiw[a])))
(sim.cal: slow drifts, a dispersive phase and amplitude random walks when the preset asks);
`gains_at(truth, times)` evaluates them; truth is also written as JSON beside the MS. The array
and its uvw: sim.geometry.
"""
from __future__ import annotations

import json
import os
import shutil

import numpy as np

from ..errors import PipelineError
from ..fluxcsv import MARK, FluxRow, write_flux_csv
from ..heuristics.constants import ARCSEC, C_LIGHT
from ..ms.create import create_ms
from .cal import gains_at, make_gain_truth
from .geometry import DAY, array_layout, gmst_rad, uvw_for
from .presets import ALMA_SITE, INTENT_MODES, PRESETS, Preset, get_preset  # noqa: F401
from .sky import bjh_truth, body_ephemeris, disk_profile, elliptical_q, write_ephemeris_table


# ---- truth ----------------------------------------------------------------------------------
def source_flux(src: dict, freq_hz: np.ndarray, spw: int | None = None) -> np.ndarray:
    """The source's flux at `freq_hz`: its power law, or a body's per-channel truth of spw `spw`
    (the channel mean when freq_hz is a scalar)."""
    if "chan_flux" in src and spw is not None:
        v = np.asarray(src["chan_flux"][spw])
        return v.mean() if np.ndim(freq_hz) == 0 else v
    return src["flux_jy"] * (np.asarray(freq_hz) / src["reffreq_hz"]) ** src["spix"]


# ---- the simulator --------------------------------------------------------------------------
def simulate(out: str, preset: str = "alma_band3", seed: int = 0, *, overwrite: bool = True,
             weight_spectrum: bool | None = None, faults: dict | None = None,
             duration_scale: float = 1.0, write_flux_csv_file: bool = True,
             ephemeris_table: bool | None = None) -> dict:
    """Write a simulated MS at `out`; return the truth (also written to OUT.truth.json).

    faults (optional): {'amp_drop': {'antenna': i, 'scan': n, 'factor': f},
                        'dead_pol': {'antenna': i, 'pol': p},
                        'flagged_antenna': i, 'flagged_spw': s, 'flagged_field': name,
                        'amp_ramp': {'field': name, 'fraction': f}: the visibility amplitude of
                        that field's scans rises by f across each scan (every antenna's gain)}
    duration_scale repeats the schedule (e.g. 4 for a 4x longer observation).
    """
    p = get_preset(preset)
    if weight_spectrum is not None:
        p.weight_spectrum = weight_spectrum
    if ephemeris_table is not None:
        p.ephemeris_table = ephemeris_table
    faults = dict(p.faults, **(faults or {}))
    _check_faults(faults, p, max(1, int(round(duration_scale))))
    rng = np.random.default_rng(seed)
    out = os.path.abspath(out).rstrip("/")
    if os.path.exists(out):
        if not overwrite:
            raise PipelineError(f"{out} exists; remove it or pass overwrite")
        shutil.rmtree(out)
    os.makedirs(os.path.dirname(out), exist_ok=True)

    pos = array_layout(p, rng)
    nant, nspw, nchans = p.nant, len(p.spw_centres_ghz), p.nchans()
    chw = np.array([p.spw_bw_mhz * 1e6 / n for n in nchans])
    spw_freqs = [c * 1e9 + (np.arange(n) - (n - 1) / 2) * w
                 for c, n, w in zip(p.spw_centres_ghz, nchans, chw)]
    sigma = p.sefd_jy / np.sqrt(2 * chw * p.tint) * (1 + 0.05 * np.arange(nspw))  # per spw
    widths = [np.full(n, w) for n, w in zip(nchans, chw)]
    names_spw = [f"SPW{i}" for i in range(nspw)]
    if p.ch_avg_of is not None:   # ALMA's 1-channel average of a window, as an extra spw
        k = p.ch_avg_of
        names_spw = [f"X{i}#FULL_RES" for i in range(nspw)] + [f"X{k}#CH_AVG"]
        spw_freqs.append(np.array([spw_freqs[k].mean()]))
        widths.append(np.array([widths[k].sum()]))
        sigma = np.r_[sigma, sigma[k] / np.sqrt(nchans[k])]

    # timeline: start so that the middle of the observation has LST ~ mean RA of the sources
    schedule = p.schedule * max(1, int(round(duration_scale)))
    total = sum(d for _, d in schedule) + 10.0 * len(schedule)
    mid_ra = np.deg2rad(15 * np.mean([s.ra_h for s in p.sources]))
    day0 = 60690.0 * DAY
    lst0 = gmst_rad(np.array([day0]))[0] + p.site[0]
    dt_sid = np.mod(mid_ra - lst0, 2 * np.pi) / (2 * np.pi) * DAY / 1.00273790935
    t_start = day0 + dt_sid - total / 2

    names = [s.name for s in p.sources]
    intents = sorted({s.intent for s in p.sources}, key=list(INTENT_MODES).index)
    states = [INTENT_MODES[i] for i in intents]
    ant_names = [f"DA{41 + i}" if i % 2 else f"DV{i // 2 + 1:02d}" for i in range(nant)]
    antennas = [{"name": n, "station": f"A{100 + i:03d}", "position": pos[i], "diameter": 12.0}
                for i, n in enumerate(ant_names)]
    fields = [{"name": s.name, "ra": np.deg2rad(15 * s.ra_h), "dec": np.deg2rad(s.dec_deg)}
              for s in p.sources]
    spws = [{"name": nm, "chan_freq": f, "chan_width": w}
            for nm, f, w in zip(names_spw, spw_freqs, widths)]
    create_ms(out, antennas=antennas, fields=fields, spws=spws, corrs=list(p.corrs),
              states=states, telescope=p.telescope, time_range=(t_start, t_start + total),
              weight_spectrum=p.weight_spectrum)

    truth = {"ms": os.path.basename(out), "preset": p.name, "seed": seed,
             "gains": make_gain_truth(nant, nspw, t_start, rng),
             "antennas": ant_names, "noise_sigma_per_spw": sigma.tolist(),
             "spws": [{"id": i, "centre_freq_hz": float(f.mean()), "chan_freq_hz": f.tolist()}
                      for i, f in enumerate(spw_freqs)],
             "fields": {}, "faults": faults, "scans": []}
    ephem = {}
    for i, s in enumerate(p.sources):
        if s.disk_arcsec < 0:
            ephem[s.name] = body_ephemeris(s.name, s.radius_km, t_start, t_start + total)
        src = {"id": i, "intent": s.intent, "flux_jy": s.flux, "spix": s.spix,
               "reffreq_hz": p.reffreq_ghz * 1e9, "limb": s.limb,
               "disk_arcsec": ephem[s.name]["diameter_arcsec"] if s.disk_arcsec < 0 else s.disk_arcsec}
        if s.bjh:      # the body's Butler-JPL-Horizons 2012 model at its first scan (truth per channel)
            first = next(k for k, (n, _) in enumerate(schedule) if n == s.name)
            t_first = t_start + sum(d + 10.0 for _, d in schedule[:first]) + p.tint / 2
            b = bjh_truth(s.name, t_first / DAY, spw_freqs[:nspw])
            src.update(chan_flux=[x.tolist() for x in b["chan_flux"]], disk_arcsec=b["major_arcsec"],
                       minor_arcsec=b["minor_arcsec"], pa_deg=b["pa_deg"], distance_au=b["distance_au"])
        src["flux_per_spw"] = [float(source_flux(src, f.mean(), k)) for k, f in enumerate(spw_freqs[:nspw])]
        if p.ch_avg_of is not None:   # the CH_AVG spw holds the channel mean of its window
            src["flux_per_spw"].append(float(source_flux(src, spw_freqs[p.ch_avg_of]).mean()))
        truth["fields"][s.name] = src

    if p.drift:        # drawn after everything else: the other presets' random numbers do not change
        truth["gains"].update({"drift_rate_per_h": rng.normal(0, 0.03, nant).tolist(),
                               "airmass_coeff": (0.03 + rng.normal(0, 0.01, nant)).tolist(),
                               "t_mid": t_start + total / 2, "lst_ra": float(mid_ra), "lat": p.site[1]})
    if p.dispersive:
        truth["gains"]["phase_scale"] = [c / p.reffreq_ghz for c in p.spw_centres_ghz]
    if p.walk:         # drawn after the drift: the other presets' random numbers do not change
        n = int(total // 60) + 2
        steps = rng.normal(0, p.walk, (nant, n))
        truth["gains"].update({"walk_t0": t_start, "walk_dt": 60.0,
                               "walk": np.exp(np.cumsum(steps, axis=1) - np.cumsum(steps, axis=1).mean(axis=1, keepdims=True)).tolist()})
    if p.bandpass:     # drawn last: the other presets' random numbers do not change
        from .cal import make_bandpass_truth
        truth["bandpass"] = make_bandpass_truth(nant, spw_freqs[:nspw], rng)
    if p.ephemeris_table:
        for name, e in ephem.items():
            write_ephemeris_table(out, names.index(name), name, e)
    truth["ephemeris"] = {n: {k: v for k, v in e.items() if k != "table"} for n, e in ephem.items()}
    _write_rows(out, p, schedule, names, intents, pos, spw_freqs, sigma, truth, faults, rng,
                t_start)
    with open(out + ".truth.json", "w") as fh:
        json.dump(truth, fh, indent=1)
    if write_flux_csv_file:
        write_flux_csv(os.path.join(os.path.dirname(out), "flux.csv"),
                       catalogue_rows(truth, p.catalogue_error, rng), replace_ms=truth["ms"])
    return truth


def _check_faults(faults: dict, p: Preset, repeats: int) -> None:
    known = {"amp_drop", "dead_pol", "flagged_antenna", "flagged_spw", "flagged_field", "amp_ramp"}
    bad = set(faults) - known
    if bad:
        raise PipelineError(f"unknown fault(s) {', '.join(sorted(bad))}; valid: {', '.join(sorted(known))}")
    ants = [faults.get("flagged_antenna")] + [faults[k].get("antenna") for k in ("amp_drop", "dead_pol")
                                              if k in faults]
    for a in ants:
        if a is not None and not 0 <= int(a) < p.nant:
            raise PipelineError(f"fault antenna {a} is not in preset {p.name}; valid 0~{p.nant - 1}")
    if "flagged_spw" in faults and not 0 <= int(faults["flagged_spw"]) < len(p.spw_centres_ghz):
        raise PipelineError(f"flagged_spw must be in 0~{len(p.spw_centres_ghz) - 1} for preset {p.name}")
    if "flagged_field" in faults and faults["flagged_field"] not in [s.name for s in p.sources]:
        raise PipelineError(f"flagged_field must be one of {', '.join(s.name for s in p.sources)}")
    nscan = len(p.schedule) * repeats
    if "amp_drop" in faults and not 1 <= faults["amp_drop"].get("scan", 0) <= nscan:
        raise PipelineError(f"amp_drop scan must be in 1~{nscan} for preset {p.name}")


def catalogue_rows(truth: dict, err: float, rng: np.random.Generator) -> list[FluxRow]:
    """Catalogue values as an observatory would give them: exact for the amplitude calibrator
    (the flux standard), off by a few per cent for the other calibrators."""
    rows = []
    for name, src in truth["fields"].items():
        if src["intent"] == "TARGET" or "chan_flux" in src:   # a body's model is not catalogued
            continue
        scale = 1.0 if src["intent"] == "AMPLITUDE" else 1 + err * rng.uniform(-1, 1)
        for spw in truth["spws"]:
            flux = scale * source_flux(src, spw["centre_freq_hz"])
            rows.append(FluxRow(truth["ms"], name, spw["id"], round(float(flux), 6),
                                spix=src["spix"], comment=f"{MARK} simulate seed={truth['seed']} field={name} "
                                f"intents={src['intent']} origin=Simulated age=0"))
    return rows


def _write_rows(out, p, schedule, names, intents, pos, spw_freqs, sigma, truth, faults, rng,
                t_start):
    from casacore.tables import table
    nant, ncorr = p.nant, len(p.corrs)
    nspw = len(p.spw_centres_ghz)          # science windows (with gains of their own)
    a1, a2 = np.triu_indices(nant, 1)
    nbl = len(a1)
    tb = table(out, ack=False, readonly=False)
    t = t_start
    row = 0
    flagged_ant = faults.get("flagged_antenna")
    for scan, (name, dur) in enumerate(schedule, start=1):
        src = truth["fields"][name]
        fid = src["id"]
        ra, dec = (np.deg2rad(15 * p.sources[fid].ra_h), np.deg2rad(p.sources[fid].dec_deg))
        nt = int(dur // p.tint)
        times = t + p.tint * (np.arange(nt) + 0.5)
        truth["scans"].append({"scan": scan, "field": name, "start": float(times[0]),
                               "end": float(times[-1])})
        g = gains_at(truth, times)                                   # (t, a, p, s)
        if "amp_drop" in faults and faults["amp_drop"]["scan"] == scan:
            g[:, faults["amp_drop"]["antenna"]] *= faults["amp_drop"]["factor"]
        if "amp_ramp" in faults and faults["amp_ramp"]["field"] == name:   # every antenna's gain ramps in the scan
            g *= np.sqrt(1 + faults["amp_ramp"]["fraction"] * np.linspace(0, 1, nt))[:, None, None, None]
        if "dead_pol" in faults:
            g[:, faults["dead_pol"]["antenna"], faults["dead_pol"]["pol"]] = 0.0
        tt = np.repeat(times, nbl)
        aa1, aa2 = np.tile(a1, nt), np.tile(a2, nt)
        uvw = uvw_for(pos, aa1, aa2, tt, ra, dec)
        n = nt * nbl
        blocks = []
        for s in range(nspw):
            f = spw_freqs[s]
            model = np.broadcast_to(source_flux(src, f, s)[None, :], (n, len(f))).astype(complex)
            if src["disk_arcsec"] > 0:
                r = elliptical_q(uvw, src["disk_arcsec"], src["minor_arcsec"], src["pa_deg"]) \
                    if "minor_arcsec" in src else np.hypot(uvw[:, 0], uvw[:, 1])
                q = r[:, None] * f[None, :] / C_LIGHT
                model = model * disk_profile(q, src["disk_arcsec"] * ARCSEC, src["limb"])
            gg = g[:, :, :, s]                                       # (t, a, p)
            gi = gg[:, a1, :].reshape(n, 2)
            gj = gg[:, a2, :].reshape(n, 2)
            vis = (gi * np.conj(gj))[:, None, :] * model[:, :, None]
            if "bandpass" in truth:   # per-channel delay and bandpass of each antenna
                from .cal import channel_factors
                c = channel_factors(truth["bandpass"], s, f)                   # (a, p, chan)
                cb = np.transpose(c[a1] * np.conj(c[a2]), (0, 2, 1))          # (bl, chan, p)
                vis = (vis.reshape(nt, nbl, len(f), 2) * cb[None]).reshape(vis.shape)
            if ncorr == 4:      # XX XY YX YY: an unpolarised sky puts nothing into the cross hands
                full = np.zeros(vis.shape[:2] + (4,), complex)
                full[..., 0], full[..., 3] = vis[..., 0], vis[..., 1]
                vis = full
            noise = sigma[s] * (rng.standard_normal(vis.shape) + 1j * rng.standard_normal(vis.shape))
            blocks.append((vis + noise).astype(np.complex64))
        if p.ch_avg_of is not None:
            blocks.append(blocks[p.ch_avg_of].mean(axis=1, keepdims=True))
        flag_rows = np.zeros(n, bool)
        if flagged_ant is not None:
            flag_rows = (aa1 == flagged_ant) | (aa2 == flagged_ant)
        if faults.get("flagged_field") == name:
            flag_rows = np.ones(n, bool)
        scal = {"TIME": tt, "TIME_CENTROID": tt, "INTERVAL": np.full(n, p.tint),
                "EXPOSURE": np.full(n, p.tint), "ANTENNA1": aa1.astype(np.int32),
                "ANTENNA2": aa2.astype(np.int32), "FIELD_ID": np.full(n, fid, np.int32),
                "SCAN_NUMBER": np.full(n, scan, np.int32), "FLAG_ROW": flag_rows, "UVW": uvw,
                "STATE_ID": np.full(n, intents.index(src["intent"]), np.int32)}
        scal.update({c: np.zeros(n, np.int32) for c in ("ARRAY_ID", "FEED1", "FEED2",
                                                         "OBSERVATION_ID", "PROCESSOR_ID")})
        tb.addrows(n * len(blocks))
        fspw = faults.get("flagged_spw")
        if p.interleave:
            _put_interleaved(tb, row, nt, nbl, blocks, scal, sigma, ncorr, p.weight_spectrum, fspw)
        else:
            for s, data in enumerate(blocks):
                sc = dict(scal, FLAG_ROW=np.ones(n, bool)) if s == fspw else scal
                _put_spw(tb, row + s * n, data, sc, s, sigma[s], ncorr, p.weight_spectrum)
        row += n * len(blocks)
        t = times[-1] + p.tint / 2 + 10.0
    tb.close()


def _vis_columns(data: np.ndarray, flag_rows: np.ndarray, sigma: float, ncorr: int, ws: bool) -> dict:
    n = len(data)
    w = np.full((n, ncorr), 1 / sigma ** 2, np.float32)
    cols = {"DATA": data, "FLAG": np.broadcast_to(flag_rows[:, None, None], data.shape).copy(),
            "WEIGHT": w, "SIGMA": np.full((n, ncorr), sigma, np.float32)}
    if ws:
        cols["WEIGHT_SPECTRUM"] = np.broadcast_to(w[:, None, :], data.shape).copy()
    return cols


def _put_spw(tb, row, data, scal, s, sigma, ncorr, ws):
    """One spw's rows of a scan, contiguous."""
    n = len(data)
    cols = {**scal, **_vis_columns(data, scal["FLAG_ROW"], sigma, ncorr, ws),
            "DATA_DESC_ID": np.full(n, s, np.int32)}
    for c, v in cols.items():
        tb.putcol(c, v, row, n)


def _put_interleaved(tb, row, nt, nbl, blocks, scal, sigma, ncorr, ws, flagged_spw=None):
    """All spws of a scan interleaved per integration (time, spw, baseline), as ALMA writes."""
    ns = len(blocks)
    inter = lambda v: np.repeat(v.reshape((nt, 1, nbl) + v.shape[1:]), ns, axis=1).reshape(  # noqa: E731
        (nt * ns * nbl,) + v.shape[1:])
    for c, v in scal.items():
        tb.putcol(c, inter(v), row, nt * ns * nbl)
    tb.putcol("DATA_DESC_ID", np.tile(np.repeat(np.arange(ns, dtype=np.int32), nbl), nt), row, nt * ns * nbl)
    for s, data in enumerate(blocks):
        fr = np.ones_like(scal["FLAG_ROW"]) if s == flagged_spw else scal["FLAG_ROW"]
        cols = _vis_columns(data, fr, sigma[s], ncorr, ws)
        for k in range(nt):
            r = row + (k * ns + s) * nbl
            for c, v in cols.items():
                tb.putcol(c, v[k * nbl:(k + 1) * nbl], r, nbl)
