"""Source models (setjy's job): the reference calibrator's model and its evaluation.

A `SourceModel` is plain data (pydantic, JSON in the Context): Stokes I
S(nu) = flux (nu/reffreq)^spix (spix list: log10 polynomial, CASA's convention), or Perley-Butler
2017 for a standard, optionally a disk of diameter `disk_arcsec` with limb-darkening exponent
`limb`; `per_spw` holds flux.csv's per-spw values.
"""
from __future__ import annotations

import os

import numpy as np
from pydantic import BaseModel, Field

from heuristics import resolved, standards
from .errors import PipelineError
from .fluxcsv import read_flux_csv
from .ms.metadata import MSMetadata

C = 299792458.0
PB2017 = "Perley-Butler 2017"


class SpwValue(BaseModel):
    flux: float
    reffreq: float
    spix: list[float]


class SourceModel(BaseModel):
    field: str
    flux: float = 0.0
    reffreq: float = 0.0
    spix: list[float] = Field(default_factory=lambda: [0.0])
    disk_arcsec: float = 0.0
    limb: float = 0.0
    origin: str = ""
    disk_origin: str = ""           # where the diameter came from (user, ephemeris, fit, flux.csv)
    per_spw: dict[int, SpwValue] = Field(default_factory=dict)

    def spectrum(self, spw: int, freq: np.ndarray) -> np.ndarray:
        """Stokes I (Jy) at `freq` (Hz) for spw `spw`."""
        if self.origin == PB2017:
            return standards.perley_butler_2017(standards.standard_name(self.field), freq)
        v = self.per_spw.get(spw)
        s0, f0, sp = (v.flux, v.reffreq, v.spix) if v else (self.flux, self.reffreq, self.spix)
        return standards.power_law(freq, s0, f0, sp)

    def evaluate(self, spw: int, freq: np.ndarray, uvw: np.ndarray | None = None) -> np.ndarray:
        """Model visibility (row or 1, chan): the spectrum times the disk's uv profile."""
        s = self.spectrum(spw, np.asarray(freq, float))
        if self.disk_arcsec > 0 and uvw is not None:
            q = np.hypot(uvw[:, 0], uvw[:, 1])[:, None] * np.asarray(freq)[None, :] / C
            return s[None, :] * resolved.disk_visibility(q, np.deg2rad(self.disk_arcsec / 3600), self.limb)
        return s[None, :]

    @property
    def is_point(self) -> bool:
        return self.disk_arcsec <= 0


def reference_model(md: MSMetadata, ref_field: str, fluxcsv: str | None = None,
                    flux: float | None = None, spix=0.0, reffreq: float | None = None,
                    standard: str = "auto", disk_arcsec: float | None = None, limb: float = 0.0) -> SourceModel:
    """Model of the reference calibrator. Priority: manual flux > flux.csv rows > standard.
    disk_arcsec None: a flux.csv comment 'diameter=' if any, else a point source."""
    md.field_by_name(ref_field)
    if flux is not None:
        f0 = reffreq or np.mean([s.centre_freq for s in md.spws])
        return SourceModel(field=ref_field, flux=float(flux), reffreq=float(f0),
                           spix=[float(x) for x in np.atleast_1d(spix)], disk_arcsec=disk_arcsec or 0.0,
                           limb=limb, origin="manual")
    if fluxcsv and os.path.exists(fluxcsv):
        rows = [r for r in read_flux_csv(fluxcsv) if r.field == ref_field and r.ms in ("", md.name)]
        bad = [r for r in rows if r.spw >= len(md.spws)]
        if bad:
            raise PipelineError(f"{fluxcsv}: the row for {ref_field} has spw {bad[0].spw}, but {md.name} has "
                                f"spws 0-{len(md.spws) - 1}; fix the row")
        if rows:
            per = {r.spw: SpwValue(flux=r.I, reffreq=md.spws[r.spw].centre_freq, spix=[r.spix])
                   for r in rows if r.spw < len(md.spws)}
            first = rows[0]
            d = disk_arcsec if disk_arcsec is not None else _comment_value(first.comment, "diameter")
            return SourceModel(field=ref_field, flux=first.I, reffreq=md.spws[first.spw].centre_freq,
                               spix=[first.spix], disk_arcsec=d, limb=limb, origin="flux.csv",
                               per_spw=per, disk_origin="flux.csv comment" if disk_arcsec is None and d else "")
    std = standards.standard_name(ref_field)
    if standard in ("auto", PB2017) and std:
        return SourceModel(field=ref_field, disk_arcsec=disk_arcsec or 0.0, limb=limb, origin=PB2017)
    raise PipelineError(f"no flux model for reference field '{ref_field}': not in flux.csv and not "
                        f"a Perley-Butler 2017 standard; give setmodel.flux (and spix) or a "
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
    """model(field, spw, freq, uvw) for the pass: known models, else a 1 Jy point source."""
    names = [f.name for f in md.fields]

    def fn(field_id, spw, freq, uvw):
        m = models.get(names[field_id])
        return m.evaluate(spw, freq, uvw) if m else np.ones((1, len(freq)))
    return fn


def fitted_model(name: str, flux_jy: float, reffreq_hz: float, spidx_poly: list[float]) -> SourceModel:
    """A transfer field's fitted spectrum as a model (what writeback puts into MODEL_DATA)."""
    return SourceModel(field=name, flux=flux_jy, reffreq=reffreq_hz, spix=list(spidx_poly),
                       origin="fluxtransfer fit")
