"""QA scores in [0, 1] and the gfluxscale scoring functions (ALMA hifa_gfluxscale's scores, with the minimum instead of the mean over spws).

Colours: <= 0.33 red, <= 0.66 yellow, <= 0.9 blue, > 0.9 green.
"""
from __future__ import annotations

import numpy as np
from pydantic import BaseModel

from .fluxes import FieldFlux


class QAScore(BaseModel):
    value: float
    short: str
    long: str = ""
    metric: str = ""
    metric_value: float | None = None
    units: str = ""
    ms: str = ""
    field: str = ""
    spw: str = ""

    @property
    def colour(self) -> str:
        return colour(self.value)


RED, YELLOW, BLUE = 0.33, 0.66, 0.9     # a score at or below: red, yellow, blue; above BLUE: green


def colour(v: float | None) -> str:
    if v is None:
        return "grey"
    return "red" if v <= RED else "yellow" if v <= YELLOW else "blue" if v <= BLUE else "green"


def snr_score(snr: float) -> float:
    """1.0 at SNR >= 26.25, 0.9 at 20, 0.66 at 5, 0.33 at 2, 0 at <= 1 (linear between)."""
    return float(np.interp(snr, [1, 2, 5, 20, 26.25], [0.0, 0.33, 0.66, 0.9, 1.0]))


def completeness(ms: str, fluxes: dict[str, FieldFlux], expected: list[tuple[str, int]]) -> QAScore:
    """(transfer field, spw) pairs with a flux (> 0, error > 0) over the pairs expected."""
    def has(f, s):
        v = fluxes[f].spws.get(s) if f in fluxes else None
        return v is not None and (v.flux_jy or 0) > 0 and (v.error_jy or 0) > 0
    got = [(f, s) for f, s in expected if has(f, s)]
    missing = sorted(set(expected) - set(got))
    v = len(got) / len(expected) if expected else 0.0
    msg = f"{len(got)}/{len(expected)} transfer field/spw fluxes derived"
    return QAScore(value=v, short=msg, long=msg + (f"; missing: {', '.join(f'{f} spw {s}' for f, s in missing)}"
                                                  if missing else ""),
                   metric="completeness", metric_value=v, ms=ms)


def snr_qa(ms: str, fluxes: dict[str, FieldFlux]) -> QAScore:
    worst = None
    for f, r in fluxes.items():
        for s, v in r.spws.items():
            if v.snr and (worst is None or v.snr < worst[2]):
                worst = (f, s, v.snr)
    if worst is None:
        return QAScore(value=0.0, short="no derived fluxes", metric="snr", ms=ms)
    f, s, snr = worst
    return QAScore(value=snr_score(snr), short=f"lowest flux SNR {snr:.1f} ({f} spw {s})",
                   long=f"Minimum over fields and spws of the derived-flux SNR is {snr:.1f}, for "
                        f"{f} spw {s} (ALMA scores the mean, which hides one bad spw).",
                   metric="snr", metric_value=snr, ms=ms, field=f, spw=str(s))


def catalogue_qa(ms: str, fluxes: dict[str, FieldFlux], low: float = 0.7, high: float = 1.4) -> list[QAScore]:
    """Gross flux-scale errors: derived / catalogue outside [low, high] is red, naming the
    field and spw (a x10 error scores 0.1); inside, 1.0. One score per field with a catalogue."""
    out = []
    for f, r in fluxes.items():
        rs = {s: v.flux_jy / v.catalogue_jy for s, v in r.spws.items() if v.catalogue_jy and v.flux_jy}
        if not rs:
            continue
        worst = max(rs, key=lambda s: abs(np.log(rs[s])))
        x = rs[worst]
        if low <= x <= high:
            v, msg = 1.0, f"{f}: derived/catalogue {x:.3f} at worst (spw {worst}), within {low}-{high}"
        else:
            v = float(np.clip(RED - 0.23 * min(abs(np.log(x)) / np.log(10), 1.0), 0.1, RED))
            msg = (f"{f} spw {worst}: derived flux is {x:.3g} x the catalogue's (outside {low}-{high}): "
                   f"check the reference model (flux, size) and the reference field")
        out.append(QAScore(value=v, short=msg, metric="catalogue_ratio", metric_value=x, ms=ms,
                           field=f, spw=str(worst)))
    return out


# -- the stages' other scores (each stage calls its own; every threshold is here) ------------
def stage_failed(ms: str, stage: str, error: str) -> QAScore:
    return QAScore(value=0.0, short=f"{stage} failed: {error}", ms=ms)


def flagged_fraction(ms: str, frac: float, kind: str) -> QAScore:
    """A gain solve: 1 - the flagged fraction of its solutions."""
    return QAScore(value=max(0.0, 1 - frac), short=f"{100 * frac:.1f} % of {kind} solutions flagged",
                   metric="flagged_fraction", metric_value=frac, ms=ms)


def outlier_flags(ms: str, n: int) -> QAScore:
    """ampflag: 1.0 with no outlier, 0.9 with fewer than 5, else 0.66."""
    v = 1.0 if not n else 0.9 if n < 5 else 0.66
    return QAScore(value=v, short=f"{n} amplitude solutions flagged as outliers", metric="n_flagged",
                   metric_value=n, ms=ms)


def model_written(ms: str, names: list[str], rows: int) -> QAScore:
    """writeback: 1.0 when rows were written, 0.5 when none."""
    return QAScore(value=1.0 if rows else 0.5, short=f"MODEL_DATA written for {len(names)} fields ({rows} rows)",
                   metric="rows_written", metric_value=rows, ms=ms)


def model_data_check(ms: str, checks: dict[str, tuple[float | None, str]]) -> QAScore:
    """writeback: MODEL_DATA read back for each field written (a sample of its rows) against its
    model: 1.0 when every field holds its model (within 1e-4), 0.0 when one is missing, still
    the default 1 Jy or another model (hifv_fluxboot's check)."""
    bad = {f: why for f, (d, why) in checks.items() if d is None or d > 1e-4}
    if not bad:
        worst = max((d for d, _ in checks.values() if d is not None), default=0.0)
        return QAScore(value=1.0, short=f"MODEL_DATA holds the written model of {', '.join(checks) or 'no field'} "
                       f"(read back: within {worst:.1e})", metric="model_data_check", metric_value=worst, ms=ms)
    f, why = next(iter(bad.items()))
    return QAScore(value=0.0, short=f"MODEL_DATA of {f}: {why}" + (f" (and {len(bad) - 1} more fields)" if len(bad) > 1 else ""),
                   metric="model_data_check", ms=ms, field=f)


def tables_applied(ms: str, msg: str, n: int) -> QAScore:
    return QAScore(value=1.0, short=msg, metric="n_tables", metric_value=n, ms=ms)


def model_origin(ms: str, notes: list[str], field: str) -> QAScore:
    return QAScore(value=1.0, short="; ".join(notes), metric="model_origin", ms=ms, field=field)


def spws_outside_standard(ms: str, spws: list[int], field: str) -> QAScore:
    """Spws the reference's standard has no model for (outside its range): 0.66."""
    return QAScore(value=YELLOW, short=f"spw {', '.join(map(str, spws))} outside the reference standard's range: "
                   f"no model flux there, not solved", metric="spws_outside_standard", metric_value=len(spws),
                   ms=ms, field=field)


def nonfinite_data(ms: str, counts: list[tuple[str, int, int, int]]) -> QAScore | None:
    """Visibilities, weights or UVW that were NaN or infinite (flagged and left out): per
    (field, spw, such samples, all samples). None when there were none; 1.0 for a trace (at
    most 1e-3 of a field and spw's samples), 0.66 up to 1 %, 0.33 beyond."""
    if not counts:
        return None
    worst = max(counts, key=lambda c: c[2] / max(c[3], 1))
    frac = worst[2] / max(worst[3], 1)
    total = sum(c[2] for c in counts)
    value = 1.0 if frac <= 1e-3 else YELLOW if frac <= 1e-2 else 0.33
    return QAScore(value=value, short=f"{total} non-finite visibility samples flagged and left out; most in "
                   f"{worst[0]} spw {worst[1]}: {worst[2]} of {worst[3]} ({frac:.2%})", metric="nonfinite_fraction",
                   metric_value=frac, ms=ms, field=worst[0])


def resolved_antennas(ms: str, n_kept: int, n_all: int, reason: str, fell_back: bool, field: str) -> QAScore:
    """resolvedcal: 1.0, or 0.66 when too few antennas were left and all are used."""
    return QAScore(value=YELLOW if fell_back else 1.0, short=f"{n_kept or 'all'} antennas for {field}: {reason}",
                   metric="n_antennas", metric_value=n_kept or n_all, ms=ms, field=field)


def disk_size_check(ms: str, field: str, model_arcsec: float, fit, delta_chi2: float, vis_diff: float,
                    structure: str = "") -> QAScore:
    """The reference model's size against the size the data fit: 0.2 when they differ by more
    than 20 % and significantly (chi2 rise > 25, visibilities > 5 % apart on the longest
    baseline), 0.6 for 10-20 %, else 1.0; 0.9 when too few rows to check."""
    if fit is None:
        return QAScore(value=0.9, short=f"{field}: too few good rows to check the model's size",
                       metric="disk_size_check", ms=ms, field=field)
    th, tm = fit.theta_arcsec, model_arcsec
    rel = abs(th - tm) / max(th, tm, 1e-9)
    significant = delta_chi2 > 25 and vis_diff > 0.05
    what = "a point source" if tm == 0 else f"a {tm:.3f}\" disk"
    msg = f"{field}: the data fit a {th:.3f}\" ± {fit.error_arcsec:.3f}\" disk, the model is {what}"
    if structure:
        msg = (f"{field}: divided by the {structure} model, the data fit a {th:.3f}\" ± "
               f"{fit.error_arcsec:.3f}\" disk (a correct model leaves a point)")
    if significant and rel > 0.2:
        v, msg = 0.2, msg + ("; the structure model misses flux on long baselines: check the image"
                             if structure else f"; set setmodel.disk_arcsec={th:.3f} or 'fit'")
    elif significant and rel > 0.1:
        v, msg = 0.6, msg + " (10-20 % apart)"
    else:
        v, msg = 1.0, msg + " (consistent)"
    return QAScore(value=v, short=msg, long=f"chi2 rises by {delta_chi2:.1f} from the fitted size to the "
                   f"model's; visibilities differ by {100 * vis_diff:.1f} % on the longest baseline.",
                   metric="disk_size_arcsec", metric_value=th, units="arcsec", ms=ms, field=field)


def antenna_outliers(ms: str, outliers: list[str]) -> QAScore:
    """fluxtransfer (joint): 1.0 when no antenna's flux is off the joint value, else 0.8."""
    return QAScore(value=1.0 if not outliers else 0.8,
                   short=("no antenna gives a flux off the joint value" if not outliers else
                          f"{len(outliers)} antenna fluxes off the joint value: " + ", ".join(outliers[:6])),
                   metric="antenna_outliers", metric_value=len(outliers), ms=ms)


def variability(field: str, n_ebs: int, score: float, chi2: float, dof: int, p: float, kind: str,
                p_yellow: float, p_red: float) -> QAScore:
    """crosseb: a field's fluxes across EBs (score from heuristics.crosseb.variability_score)."""
    verdict = ("consistent" if score == 1.0 else f"disagree beyond their errors (p < {p_yellow:g})"
               if score > 0.5 else f"vary (p < {p_red:g}): a variable source or a flux-scale problem in one EB")
    return QAScore(value=score, short=f"{field}: fluxes of {n_ebs} EBs {verdict}",
                   long=f"chi2 {chi2:.1f} for {dof} degrees of freedom (p = {p:.2g}) with the '{kind}' errors",
                   metric="variability_chi2_p", metric_value=p, ms="all", field=field)

def k_spw_qa(ms: str, field: str, spw: int, k: float, ref: int) -> QAScore:
    """ALMA's spw-to-spw consistency (CAS-10792, PIPE-644): |1 - k| < 0.1: 1.0; < 0.2: 0.75;
    else 0.5, k = (flux / catalogue) / (the same for the highest-SNR wide spw `ref`)."""
    q = abs(1 - k)
    value = 1.0 if q < 0.1 else 0.75 if q < 0.2 else 0.5
    return QAScore(value=value, short=f"{field} spw {spw}: flux/catalogue differs by {q:.0%} from the ratio of spw "
                   f"{ref} (the highest-SNR wide spw)", metric="k_spw", metric_value=k, ms=ms, field=field, spw=str(spw))


AMP_TIME_KNEE = 0.13        # PIPE-2553: 1.0 at 0, 0.66 at 13 %, 0.34 at 26 % and beyond


def amp_time_qa(ms: str, field: str, spw: int | None, variation: float | None) -> QAScore:
    """The amplitude calibrator's amplitude spread in time ((P80 - P20) / median of the
    per-integration mean calibrated amplitude on the highest-SNR wide spw); 0.9 when it could
    not be computed."""
    if variation is None or spw is None:
        return QAScore(value=0.9, short=f"{field}: amplitude vs time spread could not be computed",
                       metric="amp_time_variation", ms=ms, field=field)
    k = AMP_TIME_KNEE
    v = 1.0 - (1.0 - YELLOW) * variation / k if variation <= k else \
        max(YELLOW - (YELLOW - 0.34) * (variation - k) / k, 0.34)
    return QAScore(value=round(v, 2), short=f"{field}: amplitude vs time spread {100 * variation:.2f} % (spw {spw}; "
                   f"(P80 - P20) / median of the per-integration mean calibrated amplitude)",
                   metric="amp_time_variation", metric_value=100 * variation, units="%", ms=ms, field=field,
                   spw=str(spw))
