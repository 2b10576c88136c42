"""CASA's fluxscale task without CASA: same signature, same returned dict, same tables.

    from fluxpipe import fluxscale
    d = fluxscale(vis, caltable, fluxtable, reference, transfer='', listfile='', append=False,
                  refspwmap=[-1], gainthreshold=-1.0, antenna='', timerange='', scan='',
                  incremental=False, fitorder=1)
"""
from __future__ import annotations

import os
import shutil

import numpy as np

from .caltable import CalTable, read_caltable, write_caltable
from .errors import CalTableError, PipelineError, SelectionError, valid_list
from .heuristics.fluxscale import (
    flux_from_ratios,
    gain_amplitudes,
    mean_gains,
    refspw_for,
    spectral_fit,
    threshold_mask,
)
from .ms import read_metadata
from .ms.metadata import MSMetadata
from .ms.select import parse_antennas, parse_scans, parse_timerange


def _field_ids(spec, names: list[str], what: str) -> list[int]:
    if spec is None or spec == "" or spec == []:
        return []
    toks = spec if isinstance(spec, (list, tuple)) else str(spec).split(",")
    out = []
    for t in (str(x).strip() for x in toks):
        if t in names:
            out.append(names.index(t))
        elif t.isdigit() and int(t) < len(names):
            out.append(int(t))
        else:
            raise SelectionError(f"{what} field '{t}' is not in the caltable; fields: {valid_list(names)}")
    return out


def antenna_set(expr: str, md: MSMetadata) -> np.ndarray:
    """Antenna ids selected by a CASA antenna expression (positives, minus '!' negations)."""
    nant = len(md.antennas)
    exprs = parse_antennas(expr, md)
    if exprs is None:
        return np.arange(nant)
    pos = [a for e in exprs if not e.negate for a in e.a + (e.b or [])]
    neg = [a for e in exprs if e.negate for a in e.a]
    keep = np.isin(np.arange(nant), pos) if pos else np.ones(nant, bool)
    return np.flatnonzero(keep & ~np.isin(np.arange(nant), neg))


def compute(ct: CalTable, md: MSMetadata, reference, transfer="", refspwmap=None,
            gainthreshold=-1.0, antenna="", timerange="", scan="", fitorder=1) -> dict:
    """The fluxscale computation on a CalTable; returns CASA's dict plus '_mgratio'."""
    if ct.gaintype not in ("G", "T"):
        raise CalTableError(f"fluxscale needs a G or T table; {ct.path} is {ct.viscal}")
    names = ct.field_names or [f.name for f in md.fields]
    ref = _field_ids(reference, names, "reference")
    if not ref:
        raise PipelineError("fluxscale needs a reference field; give reference='<flux calibrator>'")
    have = set(np.unique(ct.field_id[~ct.flag.all(axis=(1, 2))]).tolist())
    missing = [names[r] for r in ref if r not in have]
    if len(missing) == len(ref):
        raise PipelineError(f"reference field(s) {', '.join(missing)} have no unflagged solutions "
                            f"in {os.path.basename(ct.path)}; solve the reference first or pick "
                            f"another reference")
    tran = [t for t in _field_ids(transfer, names, "transfer") if t not in ref]
    if not tran:
        tran = sorted(set(np.unique(ct.field_id).tolist()) - set(ref))
    rows = np.ones(len(ct.time), bool)
    if antenna:
        rows &= np.isin(ct.antenna1, antenna_set(antenna, md))
    if scan:
        rows &= np.isin(ct.scan, list(parse_scans(scan, md)))
    if timerange:
        tm = np.zeros(len(ct.time), bool)
        for lo, hi in parse_timerange(timerange, md):
            tm |= (ct.time >= lo) & (ct.time <= hi)
        rows &= tm
    c = ct.select(rows)
    gn = gain_amplitudes(c.cparam)[:, 0, :]
    ok = ~c.flag[:, 0, :]
    ok = threshold_mask(gn, ok, c.field_id, c.spw_id, gainthreshold)
    spws = sorted(ct.spw_freq)
    # arrays are indexed by spw id: sized by the largest id (a flagged spw may leave a gap)
    nfield, nspw, nant = max(len(names), int(ct.field_id.max(initial=0)) + 1), \
        max(max(spws, default=-1), int(ct.spw_id.max(initial=-1))) + 1, \
        max(len(md.antennas), int(ct.antenna1.max(initial=0)) + 1)
    mg, cnt = mean_gains(gn, ok, c.field_id, c.spw_id, c.antenna1, nfield, nspw, nant)
    refmg = mg[ref]
    refn = cnt[ref]
    mgref = np.where((refn > 0).sum(0) > 0, (refmg * (refn > 0)).sum(0) / np.maximum((refn > 0).sum(0), 1), 0)
    spw_with_data = sorted(set(np.unique(c.spw_id).tolist()))
    rmap = refspw_for(spws, refspwmap)
    bad = {s: r for s, r in rmap.items() if r not in spws}
    if bad:
        s, r = next(iter(bad.items()))
        raise PipelineError(f"refspwmap maps spw {s} to spw {r}, which is not in "
                            f"{os.path.basename(ct.path)} (spws {valid_list(spws)}); fix refspwmap")
    out = {"spwID": spws, "spwName": [], "freq": [ct.spw_ref_freq(s) for s in spws], "_mgratio": {},
           "_fitnote": {}}
    for s in spw_with_data:
        if (cnt[ref][:, rmap[s]] == 0).all() and any((cnt[t, s] > 0).any() for t in tran):
            raise PipelineError(f"spw {s} has transfer solutions but the reference has none in "
                                f"spw {rmap[s]}; give refspwmap (e.g. refspwmap=[{rmap[s] if rmap[s] != s else 0}])")
    for t in tran:
        entry = {"fieldName": names[t]}
        fds, errs, freqs = [], [], []
        for s in spws:
            m_t, m_r = mg[t, s], mgref[rmap[s]]
            valid = (cnt[t, s] > 0) & (m_r > 0)
            fd, err, n, mgr = flux_from_ratios((m_t[valid] / m_r[valid]))
            entry[str(s)] = {"fluxd": [fd, 0.0, 0.0, 0.0] if n else [-1.0] * 4,
                             "fluxdErr": [err, 0.0, 0.0, 0.0] if n else [-1.0] * 4,
                             "numSol": [float(n), 0.0, 0.0, 0.0] if n else [-1.0] * 4}
            if n:
                out["_mgratio"][(t, s)] = mgr
                fds.append(fd), errs.append(err), freqs.append(ct.spw_ref_freq(s))
        fit = spectral_fit(np.array(freqs), np.array(fds), np.array(errs), fitorder)
        out["_fitnote"][names[t]] = fit.note
        if len(fds) >= 2 and fit.covar:
            entry.update(fitFluxd=fit.flux, fitFluxdErr=fit.flux_err, fitRefFreq=fit.reffreq,
                         spidx=fit.spidx, spidxerr=fit.spidx_err, covarMat=fit.covar)
        else:
            entry.update(fitFluxd=fit.flux, fitFluxdErr=0.0, fitRefFreq=fit.reffreq,
                         spidx=[0.0] * (fitorder + 1), spidxerr=[0.0] * (fitorder + 1), covarMat=[])
        out[str(t)] = entry
    return out


def _spw_names(ms_path: str, spws: list[int]) -> list[str]:
    from casacore.tables import table
    p = os.path.join(ms_path, "SPECTRAL_WINDOW")
    t = table(p, ack=False)
    names = [str(t.getcell("NAME", s)) for s in spws]
    t.close()
    return names


def listfile_lines(d: dict, fitorder: int) -> list[str]:
    lines = []
    for key, e in d.items():
        if not key.isdigit():
            continue
        for i, s in enumerate(d["spwID"]):
            v = e[str(s)]
            if v["numSol"][0] <= 0:
                continue
            fd, err, n = v["fluxd"][0], v["fluxdErr"][0], int(v["numSol"][0])
            snr = fd / err if err > 0 else 0.0
            lines.append(f"# Flux density for {e['fieldName']} in SpW={s} (freq={d['freq'][i]:g} Hz) "
                         f"is: {fd:g} +/- {err:g} (SNR = {snr:g}, N = {n})")
        if e.get("covarMat"):
            sp = " ".join(f"a_{k} ({'spectral index' if k == 1 else 'curvature'}) ={e['spidx'][k]:g} "
                          f"+/- {e['spidxerr'][k]:g}" for k in range(1, len(e["spidx"])))
            cov = " ".join(f"covar({i},{j})={e['covarMat'][i][j]:g}"
                           for i in range(len(e["covarMat"])) for j in range(len(e["covarMat"])))
            lines.append(f"# Fitted spectrum for {e['fieldName']} with fitorder={len(e['spidx']) - 1}: "
                         f"Flux density = {e['fitFluxd']:g} +/- {e['fitFluxdErr']:g} "
                         f"(freq={e['fitRefFreq'] / 1e9:g} GHz) spidx: {sp} covariance matrix for "
                         f"the fit:  {cov}")
    return lines


def write_scaled(ct: CalTable, md: MSMetadata, fluxtable: str, mgratio: dict,
                 incremental: bool) -> None:
    if not incremental:
        cp = ct.cparam.copy()
        for (f, s), r in mgratio.items():
            rows = (ct.field_id == f) & (ct.spw_id == s)
            cp[rows] = (cp[rows] / np.float32(r)).astype(np.complex64)
        out = CalTable(**{**ct.__dict__, "cparam": cp})
        if os.path.exists(fluxtable):
            shutil.rmtree(fluxtable)
        shutil.copytree(ct.path, fluxtable)
        from casacore.tables import table
        t = table(fluxtable, ack=False, readonly=False)
        t.putcol("CPARAM", out.cparam)
        t.close()
        return
    fields = sorted(set(np.unique(ct.field_id).tolist()))
    spws = sorted(set(np.unique(ct.spw_id).tolist()))
    nant = len(md.antennas)
    keys = [(a, f, s) for s in spws for a in range(nant) for f in fields]
    npol = 2
    cp = np.array([[[1.0 / mgratio[(f, s)] if (f, s) in mgratio else 1.0] * npol] for a, f, s in keys],
                  np.complex64)
    n = len(keys)
    inc = CalTable("G Jones", np.full(n, ct.time.min()), np.array([k[1] for k in keys]),
                   np.array([k[2] for k in keys]), np.array([k[0] for k in keys]), np.full(n, -1),
                   np.full(n, -1), cp, np.zeros((n, 1, npol), np.float32), np.zeros((n, 1, npol), bool),
                   np.zeros((n, 1, npol), np.float32))
    spw_cf = {s: (float(ct.spw_freq[s][0]), 0.0) for s in ct.spw_freq}
    write_caltable(fluxtable, inc, md.path, spw_cf)
    _copy_spw(ct.path, fluxtable)


def _copy_spw(src_table: str, dst_table: str) -> None:
    """The output table keeps the input table's SPECTRAL_WINDOW (CASA copies it)."""
    dst = os.path.join(dst_table, "SPECTRAL_WINDOW")
    shutil.rmtree(dst)
    shutil.copytree(os.path.join(src_table, "SPECTRAL_WINDOW"), dst)


def fluxscale(vis: str, caltable: str, fluxtable: str = "", reference="", transfer="",
              listfile: str = "", append: bool = False, refspwmap=(-1,), gainthreshold: float = -1.0,
              antenna: str = "", timerange: str = "", scan: str = "", incremental: bool = False,
              fitorder: int = 1) -> dict:
    """CASA's fluxscale: bootstrap transfer-field fluxes from `reference`; see module doc."""
    md = read_metadata(vis)
    ct = read_caltable(caltable)
    d = compute(ct, md, reference, transfer, list(refspwmap), gainthreshold, antenna, timerange,
                scan, fitorder)
    mgr = d.pop("_mgratio")
    d.pop("_fitnote")
    d["spwName"] = _spw_names(md.path, d["spwID"])
    if fluxtable:
        if append:
            raise PipelineError("append=True is not supported; write a new fluxtable")
        write_scaled(ct, md, fluxtable, mgr, incremental)
    if listfile:
        with open(listfile, "w") as fh:
            fh.write("\n".join(listfile_lines(d, fitorder)) + "\n")
    return d
