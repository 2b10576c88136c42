"""Flux-transfer estimators on an amplitude table, and the uncertainty budget.

- 'casa': CASA's fluxscale (fluxpipe.casa_fluxscale.compute), exactly.
- 'joint' (default): heuristics.jointflux per spw: all amplitude solutions at once, per-antenna
  gains with a drift chosen by BIC, SNR weights, outlier rejection, per-field flux factors.
Budget per flux: statistical (scatter of the per-antenna estimates), temporal (jackknife over
solution times; joint only), reference model (a fraction of the flux by the reference model's
origin, or the user's `reference_error`). error_jy = sqrt(stat^2 + temporal^2) is what the data
say; error_total_jy adds the reference model's term.
"""
from __future__ import annotations

import numpy as np

from ..heuristics.fluxscale import gain_amplitudes, refspw_for
from ..heuristics.jointflux import JointFit, joint_flux
from ..models.standards import STANDARDS

# Fractional accuracy of the reference's model by its origin (reference-model term); a standard's
# comes with its table entry (fluxpipe.models.standards)
REFERENCE_ACCURACY = {
    "solar-system": (0.05, "planet and moon models: ~5 % (ALMA's flux-scale accuracy)"),
    "flux.csv": (0.05, "catalogue flux of a calibrator: ~5 % (ALMA's flux-scale accuracy)"),
    "manual": (0.05, "a manual flux: assumed ~5 %"),
}


def reference_accuracy(model, user: float | None) -> tuple[float, str]:
    if user is not None:
        return user, "set by the user (fluxtransfer.reference_error)"
    if model.body is not None:
        return REFERENCE_ACCURACY["solar-system"]
    if model.disk_arcsec > 0 and model.disk_origin and "ephemeris" in model.disk_origin:
        return REFERENCE_ACCURACY["solar-system"]
    if model.origin in STANDARDS:
        return STANDARDS[model.origin].accuracy, STANDARDS[model.origin].accuracy_note
    return REFERENCE_ACCURACY.get(model.origin, (0.05, "unknown origin: assumed ~5 %"))


def joint_estimates(ct, ref_ids: list[int], spws: list[int], refspwmap: list[int] | None = None) -> dict[int, JointFit]:
    """The joint estimator per spw from the unflagged rows of an amplitude (T or G) table. With
    CASA's refspwmap, spw s's transfer solutions are fitted with the reference's solutions of
    spw map[s] (their gains taken as one, as fluxscale does)."""
    amp = gain_amplitudes(ct.cparam)[:, 0, :].astype(float)
    ok = ~ct.flag[:, 0, :]
    refspw = refspw_for(spws, refspwmap)
    is_ref = np.isin(ct.field_id, ref_ids)
    out = {}
    for s in spws:
        want = np.where(is_ref, ct.spw_id == refspw[s], ct.spw_id == s)
        rows, pols = np.nonzero(ok & want[:, None])
        if not len(rows):
            continue
        fit = joint_flux(amp[rows, pols], ct.snr[rows, 0, pols].astype(float), ct.field_id[rows],
                         ct.antenna1[rows] * ct.cparam.shape[2] + pols, ct.time[rows], ref_ids,
                         obs=None if ct.obs_id is None else ct.obs_id[rows])
        if fit is not None:
            out[s] = fit
    return out


def antenna_table(fits: dict[int, JointFit], names: list[str], fields: list[str], npol: int,
                  reject: float = 4.0) -> tuple[list[dict], list[str]]:
    """Per field, spw, antenna and polarisation: the flux each gives alone, its deviation from
    the joint flux in units of its error; antennas beyond `reject` robust sigmas named."""
    rows, outliers = [], []
    for s, fit in fits.items():
        for (f, ap), (flux, err) in fit.ant_ratio.items():
            a, p = divmod(ap, npol)
            dev = (flux - fit.flux[f]) / err if err > 0 else 0.0
            rows.append({"field": fields[f], "spw": int(s), "antenna": names[a], "pol": int(p),
                         "flux_jy": flux, "error_jy": err, "deviation_sigma": dev})
    by = {}
    for r in rows:
        by.setdefault((r["field"], r["spw"]), []).append(r)
    for (f, s), rs in by.items():
        d = np.array([r["deviation_sigma"] for r in rs])
        mad = 1.4826 * np.median(np.abs(d - np.median(d))) or 1.0
        for r in rs:
            r["outlier"] = bool(abs(r["deviation_sigma"] - np.median(d)) > reject * max(mad, 1.0))
            if r["outlier"]:
                outliers.append(f"{r['antenna']} ({f} spw {s}: {r['deviation_sigma']:+.1f} sigma)")
    return rows, outliers
