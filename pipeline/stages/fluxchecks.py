"""fluxtransfer's checks as ALMA's hifa_gfluxscale makes them (heuristics.fluxchecks): the
spw-to-spw consistency of each transfer field against its highest-SNR wide spw (k_spw), and the
amplitude calibrator's amplitude spread in time on its highest-SNR wide spw (not for
solar-system bodies, as ALMA)."""
from __future__ import annotations

import numpy as np

from ..calsolve import applied
from ..heuristics.derived import hand_amplitudes
from ..heuristics.fluxchecks import amp_time_variation, k_spw, per_integration_means, reference_spw
from ..heuristics.solarsystem import body_name
from ..qa import amp_time_qa, k_spw_qa


def _bandwidth(md, spw: int) -> float:
    return float(np.abs(md.spws[spw].chan_width).sum())


def k_spw_scores(ms: str, md, fluxes: dict) -> list:
    out = []
    for name, r in fluxes.items():
        have = {s: v for s, v in r.spws.items() if not v.missing and v.catalogue_jy and v.flux_jy}
        if len(have) < 2:
            continue
        ids = sorted(have)
        ref = reference_spw(ids, [_bandwidth(md, s) for s in ids], [have[s].snr for s in ids])
        if ref is None:
            continue
        ks = k_spw({s: have[s].flux_jy / have[s].catalogue_jy for s in ids}, ref)
        out += [k_spw_qa(ms, name, s, k, ref) for s, k in sorted(ks.items())]
    return out


def amp_time_score(ms: str, md, st, cube, ct, applier) -> tuple:
    """The reference's amplitude spread in time (None for a solar-system body) and what its
    plot shows: {'time', 'mean' (per integration), 'field', 'spw', 'variation'} (or {})."""
    ref = st.reference
    if body_name(ref):
        return None, {}
    fid = md.field_by_name(ref).id
    spws = sorted({b.spw_id for b in cube.blocks(fields=[fid])})
    snr = []
    for s in spws:
        m = (ct.field_id == fid) & (ct.spw_id == s) & ~ct.flag[:, 0, 0]
        snr.append(float(np.median(ct.snr[m, 0, 0])) if m.any() else None)
    spw = reference_spw(spws, [_bandwidth(md, s) for s in spws], snr)
    if spw is None:
        return amp_time_qa(ms, ref, None, None), {}
    t, a = [], []
    for b in cube.blocks(fields=[fid], spws=[spw]):
        vis, w = applied(b, applier, raw=True)
        amp, _, ok = hand_amplitudes(vis, w)
        t.append(b.time[ok])
        a.append(amp)
    if not t:
        return amp_time_qa(ms, ref, spw, None), {}
    times, means = per_integration_means(np.concatenate(t), np.concatenate(a))
    v = amp_time_variation(means)
    return amp_time_qa(ms, ref, spw, v), {"time": times, "mean": means, "field": ref, "spw": spw,
                                          "variation": np.nan if v is None else v}
