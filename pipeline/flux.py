"""The flux-scale science steps as functions; the stages of the gfluxscale recipe wrap them.

setmodel -> resolvedcal -> phaseup -> ampsolve -> ampflag -> fluxtransfer -> writeback, plus
derived (calibrated-visibility) fluxes as a cross-check.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from heuristics import outliers, resolved, standards
from heuristics.fluxscale import gain_amplitudes
from .caltable import CalTable, read_caltable, write_caltable
from .errors import PipelineError
from .fluxcsv import read_flux_csv
from .gaincal import gaincal
from .ms import select, write_model
from .ms.metadata import MSMetadata

C = 299792458.0
CAL_INTENTS = ("AMPLITUDE", "BANDPASS", "PHASE", "CHECK", "POLARIZATION", "DIFFGAIN")


@dataclass
class SourceModel:
    """Stokes I model of one field: S(nu) = flux (nu/reffreq)^spix (spix list: log polynomial),
    optionally a disk of diameter disk_arcsec (limb: limb-darkening exponent)."""
    field: str
    flux: float
    reffreq: float
    spix: list[float] = field(default_factory=lambda: [0.0])
    disk_arcsec: float = 0.0
    limb: float = 0.0
    origin: str = ""
    per_spw: dict = field(default_factory=dict)   # spw -> (flux, reffreq, spix) overrides

    def evaluate(self, spw: int, freq: np.ndarray, uvw: np.ndarray | None = None) -> np.ndarray:
        # per_spw keys are ints in memory and strings after a JSON round trip
        s0, f0, sp = self.per_spw.get(spw, self.per_spw.get(str(spw), (self.flux, self.reffreq, self.spix)))
        if self.origin == "Perley-Butler 2017":
            s = standards.perley_butler_2017(standards.standard_name(self.field), freq)
        else:
            s = standards.power_law(freq, s0, f0, sp)
        if self.disk_arcsec > 0 and uvw is not None:
            q = np.hypot(uvw[:, 0], uvw[:, 1])[:, None] * np.asarray(freq)[None, :] / C
            return s[None, :] * resolved.disk_visibility(q, np.deg2rad(self.disk_arcsec / 3600), self.limb)
        return s[None, :]


def reference_model(md: MSMetadata, ref_field: str, fluxcsv: str | None = None,
                    flux: float | None = None, spix=0.0, reffreq: float | None = None,
                    standard: str = "auto", disk_arcsec: float = 0.0, limb: float = 0.0) -> SourceModel:
    """Model of the reference calibrator. Priority: manual flux > flux.csv rows > standard."""
    md.field_by_name(ref_field)
    if flux is not None:
        f0 = reffreq or np.mean([s.centre_freq for s in md.spws])
        return SourceModel(ref_field, float(flux), float(f0), list(np.atleast_1d(spix)),
                           disk_arcsec, limb, "manual")
    if fluxcsv and os.path.exists(fluxcsv):
        rows = [r for r in read_flux_csv(fluxcsv) if r.field == ref_field and r.ms in ("", md.name)]
        if rows:
            per = {r.spw: (r.I, md.spws[r.spw].centre_freq, [r.spix]) for r in rows if r.spw < len(md.spws)}
            first = rows[0]
            d = disk_arcsec or _comment_value(first.comment, "diameter")
            return SourceModel(ref_field, first.I, md.spws[first.spw].centre_freq, [first.spix], d,
                               limb, "flux.csv", per)
    std = standards.standard_name(ref_field)
    if standard in ("auto", "Perley-Butler 2017") and std:
        return SourceModel(ref_field, 0.0, 0.0, [0.0], disk_arcsec, limb, "Perley-Butler 2017")
    raise PipelineError(f"no flux model for reference field '{ref_field}': not in flux.csv and not "
                        f"a Perley-Butler 2017 standard; give setmodel a flux (and spix) or a "
                        f"flux.csv row")


def _comment_value(comment: str, key: str) -> float:
    for tok in comment.replace("#", " ").split():
        if tok.startswith(key + "="):
            try:
                return float(tok.split("=", 1)[1].rstrip("arcsec\""))
            except ValueError:
                return 0.0
    return 0.0


def model_function(md: MSMetadata, models: dict[str, SourceModel]):
    """model(field, spw, freq, uvw) for the solver: known models, else a 1 Jy point source."""
    names = [f.name for f in md.fields]

    def fn(field_id, spw, freq, uvw):
        m = models.get(names[field_id])
        return m.evaluate(spw, freq, uvw) if m else np.ones((1, len(freq)))
    return fn


def select_resolved_antennas(md: MSMetadata, model: SourceModel, refant: int,
                             peak_fraction: float = 0.2) -> dict:
    if model.disk_arcsec <= 0:
        return {"antennas": [], "reason": "point source: all antennas"}
    low = min(s.centre_freq for s in md.spws)
    ants, cut, fell = resolved.select_antennas(md.antenna_positions(), refant,
                                               np.deg2rad(model.disk_arcsec / 3600), low, peak_fraction)
    pos = md.antenna_positions()[ants]
    i, j = np.triu_indices(len(ants), 1)
    bl = np.linalg.norm(pos[i] - pos[j], axis=1) if len(ants) > 1 else np.zeros(1)
    return {"antennas": [] if fell else [int(a) for a in ants],
            "names": [md.antennas[a].name for a in ants], "cutoff_m": cut, "fell_back": fell,
            "uvrange_m": [float(bl.min()), float(bl.max())],
            "reason": "fewer than 3 antennas: all used" if fell else "ALMA peak-fraction selection"}


def merge_tables(tables: list[CalTable]) -> CalTable:
    keys = ("time", "field_id", "spw_id", "antenna1", "antenna2", "scan", "cparam", "paramerr",
            "flag", "snr")
    base = tables[0]
    out = CalTable(**{**base.__dict__, **{k: np.concatenate([getattr(t, k) for t in tables]) for k in keys},
                      "interval": None, "obs_id": None})
    order = np.lexsort((out.antenna1, out.spw_id, out.field_id, out.time))
    return out.select(order)


def solve_split(md, out: str, cal_fields: list[str], ref_field: str, ref_antennas: list[int],
                **kw):
    """gaincal with the reference field restricted to `ref_antennas` (all others unrestricted)."""
    if not ref_antennas:
        r = gaincal(md, out, field=",".join(cal_fields), **kw)
        return r.table, r
    names = [a.name for a in md.antennas]
    ant = ",".join(names[a] for a in ref_antennas)
    parts, res = [], None
    r1 = gaincal(md, None, field=ref_field, selectdata={"antenna": ant + "&"}, **kw)
    parts.append(r1.table)
    others = [f for f in cal_fields if f != ref_field]
    if others:
        res = gaincal(md, None, field=",".join(others), **kw)
        parts.append(res.table)
    ct = merge_tables(parts)
    spw_cf = {**r1.spw_chan_freq, **(res.spw_chan_freq if res else {})}
    write_caltable(out, ct, md.path, spw_cf)
    return ct, r1


def flag_outliers(ct_path: str, sigma: float = 50.0) -> list[dict]:
    """Flag outlier amplitudes in a T/G table per field and spw (in place); list each flag."""
    ct = read_caltable(ct_path)
    amp = gain_amplitudes(ct.cparam)[:, 0, :]
    group = ct.field_id * 1000 + ct.spw_id
    new, dev = outliers.outlier_flags(amp, ct.flag[:, 0, :], group, sigma)
    rec = []
    for r, p in zip(*np.nonzero(new)):
        rec.append({"field": ct.field_names[ct.field_id[r]] if ct.field_names else int(ct.field_id[r]),
                    "spw": int(ct.spw_id[r]), "antenna": ct.antenna_names[ct.antenna1[r]] if ct.antenna_names
                    else int(ct.antenna1[r]), "pol": int(p), "time": float(ct.time[r]),
                    "amplitude": float(amp[r, p]), "deviation_mad": float(dev[r, p]),
                    "reason": f"|amp - median| > {sigma} MAD"})
    if rec:
        from casacore.tables import table
        t = table(ct_path, ack=False, readonly=False)
        t.putcol("FLAG", ct.flag | new[:, None, :])
        t.close()
    return rec


def writeback(md: MSMetadata, fluxes: dict, ref_model: SourceModel | None = None) -> int:
    """setjy: write each transfer field's fitted spectrum (and the reference model) into MODEL_DATA."""
    n = 0
    for name, res in fluxes.items():
        fit = res.get("fit")
        if not fit or fit["flux_jy"] <= 0:
            continue
        coefs = fit.get("spidx_poly", [fit["spidx"]])
        m = SourceModel(name, fit["flux_jy"], fit["reffreq_hz"], coefs)
        n += write_model(md, select(md, field=name), lambda f, s, fr, uvw, m=m: m.evaluate(s, fr, uvw)[..., None])
    if ref_model is not None:
        n += write_model(md, select(md, field=ref_model.field),
                         lambda f, s, fr, uvw: ref_model.evaluate(s, fr, uvw)[..., None])
    return n


def fluxtransfer(md: MSMetadata, amp_table: str, ref_field: str, transfer: list[str],
                 refspwmap=None, gainthreshold: float = -1.0, antenna: str = "", fitorder: int = 1,
                 catalogue: dict | None = None) -> tuple[dict, dict]:
    """fluxscale on the amplitude table -> (per-field results for fluxes.json, CASA's dict)."""
    from .fluxscale import compute, _spw_names
    ct = read_caltable(amp_table)
    d = compute(ct, md, ref_field, transfer, refspwmap, gainthreshold, antenna, "", "", fitorder)
    d["_table"] = ct
    d["spwName"] = _spw_names(md.path, d["spwID"])
    out = {}
    for key, e in d.items():
        if not str(key).isdigit():
            continue
        spws = {}
        for i, s in enumerate(d["spwID"]):
            v = e[str(s)]
            fd, err, n = v["fluxd"][0], v["fluxdErr"][0], int(v["numSol"][0])
            if n <= 0:
                spws[str(s)] = {"freq_hz": d["freq"][i], "flux_jy": None, "error_jy": None,
                                "snr": None, "n": 0, "missing": True}
                continue
            spws[str(s)] = {"freq_hz": d["freq"][i], "flux_jy": fd, "error_jy": err,
                            "snr": fd / err if err > 0 else None, "n": n}
            if catalogue and (e["fieldName"], s) in catalogue:
                cat = catalogue[(e["fieldName"], s)]
                spws[str(s)].update(catalogue_jy=cat, ratio=fd / cat)
        sp = e["spidx"]
        fit = {"flux_jy": e["fitFluxd"], "error_jy": e["fitFluxdErr"], "reffreq_hz": e["fitRefFreq"],
               "spidx": sp[1] if len(sp) > 1 else 0.0,
               "spidx_err": e["spidxerr"][1] if len(sp) > 1 else 0.0,
               "spidx_poly": list(sp[1:]) if e["covarMat"] else [0.0]}
        out[e["fieldName"]] = {"field_id": int(key), "spws": spws, "fit": fit}
    return out, d


def derived_fluxes(md: MSMetadata, fields: list[str], gaintables: list[str],
                   max_bytes: int = 64 * 2**20) -> dict:
    """Apply the (flux-scaled) gains and vector-average each field and spw.

    Flux = weighted mean of the real part of the corrected visibilities (parallel hands);
    error = standard error of that mean from the scatter of per-row averages
    (sqrt(var / (N - 1))), which stays honest when the weights are not 1/sigma^2.
    """
    from .calapply import Applier, ApplySpec
    from .gaincal import corr_pols
    from .ms import iter_chunks
    specs = [ApplySpec.load(t, "nearest") for t in gaintables]
    dirs = np.array([[f.ra, f.dec] for f in md.fields])
    ap = Applier(specs, len(md.antennas), dirs)
    acc: dict = {}
    for ch in iter_chunks(md, select(md, field=",".join(fields)), max_bytes=max_bytes):
        cp = corr_pols(md.corr_types[md.datadescs[ch.ddid].pol_id])
        ap.apply(ch, cp)
        par = [k for k, (a, b) in enumerate(cp) if a == b]
        w = np.where(ch.flag[..., par], 0, ch.weight[..., par]).sum(axis=(1, 2))
        v = np.where(ch.flag[..., par], 0, ch.weight[..., par] * ch.data[..., par].real).sum(axis=(1, 2))
        ok = (w > 0) & (ch.antenna1 != ch.antenna2)
        a = acc.setdefault((ch.field_id, ch.spw_id), [[], []])
        a[0].append(v[ok] / w[ok])
        a[1].append(w[ok])
    out: dict = {}
    for (f, s), (vals, ws) in acc.items():
        x, w = np.concatenate(vals), np.concatenate(ws)
        if len(x) < 2:
            continue
        mean = float(np.sum(w * x) / np.sum(w))
        var = float(np.sum(w * (x - mean) ** 2) / np.sum(w))
        neff = float(np.sum(w) ** 2 / np.sum(w ** 2))
        out.setdefault(md.fields[f].name, {})[str(s)] = {
            "flux_jy": mean, "error_jy": float(np.sqrt(var / max(neff - 1, 1))), "n_rows": int(len(x))}
    return out


def run_chain(ms: str, outdir: str, ref_field: str | None = None, fluxcsv: str | None = None,
              refant: str = "", use_resolved: bool = True, amp_outlier_sigma: float = 50.0,
              minsnr: float = 2.0, minblperant: int = 4, fitorder: int = 1,
              disk_arcsec: float = 0.0, do_writeback: bool = True) -> dict:
    """The gfluxscale recipe on one MS (no weblog) with a few common overrides; returns a
    summary dict (reference, transfer, refant, resolved, flags, fluxes, model)."""
    import yaml
    from .recipe import run_recipe
    stages = [{"setmodel": {"disk_arcsec": disk_arcsec, **({"reference": ref_field} if ref_field else {}),
                            **({"reffile": os.path.abspath(fluxcsv)} if fluxcsv else {})}},
              {"resolvedcal": {"refant": refant, **({} if use_resolved else {"hm_resolvedcals": "manual"})}},
              {"phaseup": {"minsnr": minsnr, "minblperant": minblperant}},
              {"ampsolve": {"minsnr": minsnr, "minblperant": minblperant}},
              {"ampflag": {"amp_outlier_sigma": amp_outlier_sigma}},
              {"fluxtransfer": {"fitorder": fitorder}}] + ([{"writeback": {}}] if do_writeback else [])
    os.makedirs(outdir, exist_ok=True)
    recipe = os.path.join(outdir, "chain.yaml")
    with open(recipe, "w") as fh:
        yaml.safe_dump({"stages": stages}, fh)
    ctx = run_recipe(recipe, [ms], outdir, weblog=False)
    st = next(iter(ctx.ms.values()))
    return {"ms": st.name, "reference": st.reference, "transfer": st.transfer,
            "refant": st.refants[0], "resolved": st.resolved, "flags": st.flags,
            "fluxes": st.fluxes, "model": SourceModel(**st.reference_model)}
