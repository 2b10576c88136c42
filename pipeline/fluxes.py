"""The typed flux structure, one from the estimator to the QA, fluxes.json and the weblog: per
transfer field a FieldFlux (integer spw ids -> SpwFlux, the spectral fit, the derived fluxes).
CASA's fluxscale dict exists only at the CASA-compatible API (fluxpipe.casa_fluxscale)."""
from __future__ import annotations

from pydantic import BaseModel, Field


class SpwFlux(BaseModel):
    freq_hz: float
    flux_jy: float | None = None
    error_jy: float | None = None
    snr: float | None = None
    n: int = 0
    catalogue_jy: float | None = None
    ratio: float | None = None
    missing: bool = False
    reason: str = ""                # why missing: no rows, all flagged, below minsnr
    estimator: str = ""             # which estimator flux_jy/error_jy come from ('joint', 'casa')
    error_stat_jy: float | None = None       # the budget: statistical ...
    error_temporal_jy: float | None = None   # ... temporal (gain drift between scans) ...
    error_reference_jy: float | None = None  # ... and the reference model's accuracy
    error_total_jy: float | None = None      # sqrt(error_jy^2 + error_reference_jy^2)
    casa_flux_jy: float | None = None        # both estimators, always
    casa_error_jy: float | None = None
    joint_flux_jy: float | None = None
    joint_error_jy: float | None = None
    drift_order: int | None = None           # gain-drift polynomial order the joint fit chose
    drift_note: str = ""                      # which drift model the joint fit chose and why


class SpectralFitResult(BaseModel):
    flux_jy: float
    error_jy: float
    reffreq_hz: float
    spidx: float
    spidx_err: float
    spidx_poly: list[float] = Field(default_factory=lambda: [0.0])
    note: str = ""                  # e.g. why the fit order is lower than asked
    at_spw: dict[int, list[float]] = Field(default_factory=dict)   # spw -> [fitted flux, its error] (Jy)

    @classmethod
    def from_fit(cls, fit, spw_freq: dict[int, float] | None = None) -> "SpectralFitResult":
        """From a heuristics.fluxscale SpectralFit (coefficients [log10 S0, a1, a2, ...]): the
        spectral index is a1, the log polynomial [a1, a2, ...] (0 for an order-0 fit); with
        spw_freq, the fitted flux and its error (the fit's covariance) at each spw."""
        from .heuristics.fluxscale import fit_values
        sp = list(fit.spidx)
        at = {}
        if spw_freq:
            ids = sorted(spw_freq)
            s, e = fit_values(fit, [spw_freq[k] for k in ids])
            at = {k: [float(a), float(b)] for k, a, b in zip(ids, s, e)}
        return cls(flux_jy=fit.flux, error_jy=fit.flux_err, reffreq_hz=fit.reffreq,
                   spidx=sp[1] if len(sp) > 1 else 0.0, spidx_err=fit.spidx_err[1] if len(sp) > 1 else 0.0,
                   spidx_poly=sp[1:] if len(sp) > 1 else [0.0], note=fit.note, at_spw=at)


class DerivedFlux(BaseModel):
    flux_jy: float
    error_jy: float
    n_rows: int


class FieldFlux(BaseModel):
    """One transfer field's fluxes: per spw (integer spw ids), the spectral fit, the derived
    (calibrated) fluxes. The one structure from the estimator to the QA, fluxes.json and the
    weblog."""
    field_id: int
    spws: dict[int, SpwFlux] = Field(default_factory=dict)
    fit: SpectralFitResult
    derived: dict[int, DerivedFlux] = Field(default_factory=dict)
