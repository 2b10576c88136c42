"""Phase-up choices from the SNR a solution can reach (in the spirit of ALMA's hifa_spwphaseup),
and the per-spw phases of a solution combined over spws.

A field's per-integration phase SNR per spw is measured from the data (a per-scan trial solve,
scaled by sqrt(integrations per scan)). The solution interval and spw combination are chosen
so that one solution reaches `target` (per antenna and polarisation, CASA's SNR):

1. every spw at 'int' (G) reaches it: per spw, per integration;
2. else the spws combined ('spw', one solution over all of them, SNR sqrt(sum SNR_spw^2)),
   with T (both polarisations: x sqrt(2)), at 'int';
3. else combined and T over the shortest interval of whole integrations that reaches it
   (SNR ~ sqrt(time)), at most `max_solint` and half a scan (the atmosphere changes; ALMA caps
   at 60 s and half the scan), and when even that cap falls short, the cap, with the reason.

A single spw cannot be combined: steps 2 and 3 then use T alone. Combined solutions are applied
per spw as CASA's 'linearPD' does: the spw's own constant phase (its offset, solved over all the
field's scans) plus the combined phase scaled by nu_spw / nu_ref.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class PhaseupChoice:
    solint: str               # 'int' or seconds as 'Ns'
    combine: bool             # spws combined
    gaintype: str             # 'G' or 'T'
    expected_snr: float       # of one solution, per antenna (and polarisation for G)
    reason: str


def per_integration_snr(scan_snr: np.ndarray, n_int: np.ndarray) -> float:
    """A spw's phase SNR per integration from per-scan solutions (SNR, integrations in their
    scan): the median of SNR / sqrt(n)."""
    ok = (scan_snr > 0) & (n_int > 0)
    return float(np.median(scan_snr[ok] / np.sqrt(n_int[ok]))) if ok.any() else 0.0


def choose(snr_int: dict[int, float], t_int: float, scan_s: float, target: float, max_solint: float,
           solint: tuple[str, float] | None = None, combine: bool | None = None,
           gaintype: str | None = None) -> PhaseupChoice:
    """The phase-up of one field (see module doc). The user's choices are kept: solint as
    (its text, the integrations it spans), combine, gaintype."""
    per = [s for s in snr_int.values() if s > 0]
    worst = min(per) if per else 0.0
    total = math.sqrt(sum(s * s for s in per))
    multi = len(per) > 1
    can_combine = multi if combine is None else combine
    fmt = ", ".join(f"{k}: {v:.1f}" for k, v in sorted(snr_int.items()))

    def snr_at(n_int: float, comb: bool, gt: str) -> float:
        return (total if comb else worst) * math.sqrt(n_int) * (math.sqrt(2) if gt == "T" else 1.0)

    if solint is not None:                 # the user's interval: combination and type by SNR
        text, n = solint
        comb = combine if combine is not None else (multi and snr_at(n, False, gaintype or "G") < target)
        gt = gaintype or ("T" if comb and snr_at(n, comb, "G") < target else "G")
        return PhaseupChoice(text, comb, gt, snr_at(n, comb, gt), f"solint {text} given; SNR per integration {fmt}")
    if combine is not True and snr_at(1, False, gaintype or "G") >= target:
        gt = gaintype or "G"
        return PhaseupChoice("int", False, gt, snr_at(1, False, gt),
                             f"every spw reaches SNR {target:g} per integration ({fmt})")
    comb = bool(can_combine)
    gt = gaintype or "T"
    if snr_at(1, comb, gt) >= target:
        how = "the spws combined" if comb else "both polarisations"
        return PhaseupChoice("int", comb, gt, snr_at(1, comb, gt),
                             f"per integration only {how} reach SNR {target:g} (per spw: {fmt})")
    base = snr_at(1, comb, gt)
    cap = max(1, int(min(max_solint, scan_s / 2) // t_int))
    need = math.ceil((target / base) ** 2) if base > 0 else cap + 1
    n = min(need, cap)
    what = ("the spws combined" if comb else "one spw") + (", both polarisations" if gt == "T" else "")
    why = (f"{what} reach SNR {target:g} in {n} integrations" if need <= cap else
           f"{what} reach only SNR {snr_at(n, comb, gt):.1f} at the longest interval allowed "
           f"({min(max_solint, scan_s / 2):g} s: max_solint_s, half a scan)")
    return PhaseupChoice(f"{n * t_int:g}s", comb, gt, snr_at(n, comb, gt), f"{why} (per spw per integration: {fmt})")


def combined_phases(off_gain: np.ndarray, off_flag: np.ndarray, off_snr: np.ndarray,
                    gain: np.ndarray, flag: np.ndarray, snr: np.ndarray, freq_ratio: np.ndarray):
    """Per-spw phase solutions from a combined one ('linearPD'): off_*: the spws' constant
    phases, (spw, pol, ant); gain, flag, snr: the combined solutions, (sol, pol' , ant) with
    pol' 1 (T) or the polarisations; freq_ratio: nu_spw / nu_ref, (spw,). Returns unit gains,
    flags and SNRs (sol, spw, pol, ant); the SNR adds both solutions' noise: 1/sqrt(1/a^2 + 1/b^2)."""
    ph = np.angle(gain)[:, None] * np.asarray(freq_ratio)[None, :, None, None]        # (sol, spw, pol', ant)
    g = np.exp(1j * (ph + np.angle(off_gain)[None]))
    f = flag[:, None] | off_flag[None]
    inv = np.where(snr > 0, 1 / np.where(snr > 0, snr, 1) ** 2, np.inf)[:, None] + \
        np.where(off_snr > 0, 1 / np.where(off_snr > 0, off_snr, 1) ** 2, np.inf)[None]
    return np.where(f, 1 + 0j, g), f, np.where(np.isfinite(inv), 1 / np.sqrt(inv), 0.0)
