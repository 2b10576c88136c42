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


def spectral_consistency(ms: str, fluxes: dict[str, FieldFlux]) -> list[QAScore]:
    out = []
    for f, r in fluxes.items():
        spws = {s: v for s, v in r.spws.items() if v.catalogue_jy and v.flux_jy}
        if len(spws) < 2:
            continue
        ref = max(spws, key=lambda s: spws[s].snr or 0)
        rr = spws[ref].flux_jy / spws[ref].catalogue_jy
        k = {s: (v.flux_jy / v.catalogue_jy) / rr for s, v in spws.items()}
        worst = max(k, key=lambda s: abs(1 - k[s]))
        q = abs(1 - k[worst])
        v = 1.0 if q < 0.1 else 0.75 if q < 0.2 else 0.5
        out.append(QAScore(value=v, short=f"{f}: spectral shape vs catalogue deviates {100 * q:.1f} %",
                           long=f"K = (derived/catalogue) / that ratio in spw {ref}; worst spw {worst}",
                           metric="spectral_consistency", metric_value=q, ms=ms, field=f, spw=str(worst)))
    return out


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
