"""Source models (setjy's job): the reference calibrator's model and its evaluation.

A `SourceModel` is plain data (pydantic, JSON in the Context): Stokes I
S(nu) = flux (nu/reffreq)^spix (spix list: log10 polynomial, CASA's convention), or a flux-density
standard (fluxpipe.models.standards: `origin` is its name, at the observation's epoch), optionally a disk of diameter `disk_arcsec` with limb-darkening exponent
`limb`; `per_spw` holds flux.csv's per-spw values. A `Structure` (from a FITS model image or a
component list, fluxpipe.components) replaces the point or disk: its visibilities
(heuristics.predict, unit total flux per channel) times the spectrum, as setjy scales a model
image to the standard's flux. Without a standard, flux.csv row or manual flux, the spectrum is the
components' own (sum of their fluxes and spectral indices).
"""
from __future__ import annotations

import os

import numpy as np
from pydantic import BaseModel, Field

from .ephemeris import ms_ephemeris
from .errors import PipelineError, first_line
from .fluxcsv import read_flux_csv
from .heuristics import resolved, standards
from .heuristics.constants import ARCSEC, C_LIGHT
from .heuristics.predict import Components, predict
from .heuristics.solarsystem import body_name
from .models import solar_system
from .models.standards import STANDARDS, auto_standard
from .ms.metadata import MSMetadata

STRUCTURE_ORIGIN = "the structure file's own fluxes"


class NoFluxModel(PipelineError):
    """No manual flux, flux.csv row or standard for the reference."""


class SpwValue(BaseModel):
    flux: float
    reffreq: float
    spix: list[float]


class Structure(BaseModel):
    """Components about the field's phase centre (radians; FWHMs and position angles radians)."""
    source: str                         # the file
    kind: str                           # 'image' or 'components'
    sha: str = ""                       # of the file's bytes (part of the cube's key)
    weight: list[float]                 # Jy (image pixels, or the list's flux_jy) at reffreq_hz
    l: list[float]
    m: list[float]
    major: list[float] = Field(default_factory=list)
    minor: list[float] = Field(default_factory=list)
    pa: list[float] = Field(default_factory=list)
    spix: list[float] = Field(default_factory=list)
    reffreq_hz: float = 0.0
    total_jy: float = 0.0

    def components(self) -> Components:
        arr = lambda v: np.asarray(v, float) if v else None  # noqa: E731
        return Components(np.asarray(self.weight), np.asarray(self.l), np.asarray(self.m), arr(self.major),
                          arr(self.minor), arr(self.pa), arr(self.spix) if any(self.spix) else None)

    def own_spectrum(self, freq: np.ndarray) -> np.ndarray:
        """The components' summed flux at `freq` (their spectral indices about reffreq_hz)."""
        w = np.asarray(self.weight)
        if not any(self.spix) or self.reffreq_hz <= 0:
            return np.full(len(freq), w.sum())
        return (w[None, :] * (np.asarray(freq)[:, None] / self.reffreq_hz) ** np.asarray(self.spix)[None, :]).sum(1)


class BodyInfo(BaseModel):
    """A solar-system reference's Butler-JPL-Horizons 2012 model (body_reference): the ephemeris
    at the time used, the disk, and the other geometry's flux (setmodel.solar_system_geometry)."""
    body: str
    mjd: float
    distance_au: float
    sub_earth_lat_deg: float
    radvel_km_s: float
    radii_km: list[float]
    major_arcsec: float
    minor_arcsec: float
    pa_deg: float
    geometry: str
    source: str
    other_geometry: str
    flux_other_geometry: dict[int, float]   # at each spw's centre channel
    tb_k: dict[int, float | None] = {}      # the Tb table at each spw's centre (None: a flux-density table)


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
    source: str = ""                # the standard's name of the source (a standard's model)
    epoch_year: float | None = None  # the observation's epoch (time-variable standards)
    structure: Structure | None = None    # image / component-list structure instead of point or disk
    per_chan: dict[int, list[float]] = Field(default_factory=dict)   # Jy per channel (a body's model)
    chan_freq: dict[int, list[float]] = Field(default_factory=dict)  # their channel centres (Hz)
    minor_arcsec: float = 0.0       # > 0: an elliptical disk (disk_arcsec the major axis)
    pa_deg: float = 0.0             # the major axis's position angle (N through E)
    body: BodyInfo | None = None    # a solar-system body's model details
    note: str = ""                  # why this model and not another (e.g. a body's flux.csv row ignored)

    def spectrum(self, spw: int, freq: np.ndarray) -> np.ndarray:
        """Stokes I (Jy) at `freq` (Hz) for spw `spw`."""
        if self.origin in STANDARDS:
            return STANDARDS[self.origin].flux(self.source, freq, self.epoch_year)
        if spw in self.per_chan:
            f, v = np.asarray(self.chan_freq[spw]), np.asarray(self.per_chan[spw])
            order = np.argsort(f)
            return np.interp(np.asarray(freq, float), f[order], v[order])
        if self.origin == STRUCTURE_ORIGIN and self.structure is not None:
            return self.structure.own_spectrum(freq)
        v = self.per_spw.get(spw)
        s0, f0, sp = (v.flux, v.reffreq, v.spix) if v else (self.flux, self.reffreq, self.spix)
        return standards.power_law(freq, s0, f0, sp)

    def evaluate(self, spw: int, freq: np.ndarray, uvw: np.ndarray | None = None) -> np.ndarray:
        """Model visibility (row or 1, chan): the spectrum times the disk's uv profile."""
        s = self.spectrum(spw, np.asarray(freq, float))
        if self.structure is not None and uvw is not None:
            st = self.structure
            return s[None, :] * predict(st.components(), uvw, np.asarray(freq, float), st.reffreq_hz)
        if self.disk_arcsec > 0 and uvw is not None:
            if self.minor_arcsec > 0:     # elliptical: the uv distance scaled along the minor axis
                pa = np.deg2rad(self.pa_deg)
                u_maj = uvw[:, 0] * np.sin(pa) + uvw[:, 1] * np.cos(pa)
                u_min = (uvw[:, 0] * np.cos(pa) - uvw[:, 1] * np.sin(pa)) * self.minor_arcsec / self.disk_arcsec
                r = np.hypot(u_maj, u_min)
            else:
                r = np.hypot(uvw[:, 0], uvw[:, 1])
            q = r[:, None] * np.asarray(freq)[None, :] / C_LIGHT
            return s[None, :] * resolved.disk_visibility(q, self.disk_arcsec * ARCSEC, self.limb)
        return s[None, :]

    @property
    def is_point(self) -> bool:
        return self.disk_arcsec <= 0 and self.structure is None


def reference_model(md: MSMetadata, ref_field: str, fluxcsv: str | None = None,
                    flux: float | None = None, spix=0.0, reffreq: float | None = None,
                    standard: str = "auto", disk_arcsec: float | None = None, limb: float = 0.0,
                    geometry: str = "correct") -> SourceModel:
    """Model of the reference calibrator. A manual flux always wins. A solar-system body gets
    Butler-JPL-Horizons 2012 (`body_reference`, in `geometry` 'correct' or 'casa') with
    `standard` 'auto' even when flux.csv has a row for it, as ALMA's hif_setmodels does (the row
    is ignored, with a note; when the body cannot be modelled, e.g. Saturn, the row is used with
    a note). Other sources with 'auto': the MS's flux.csv rows, else Perley-Butler 2017 where it
    knows the source, else Stevens-Reynolds 2016 (1934-638). 'flux.csv': only the rows; a
    standard's name: that standard (an error when it does not know the source). disk_arcsec
    None: a flux.csv comment 'diameter=' if any, else a point source."""
    md.field_by_name(ref_field)
    if flux is not None:
        f0 = reffreq or np.mean([s.centre_freq for s in md.spws])
        return SourceModel(field=ref_field, flux=float(flux), reffreq=float(f0),
                           spix=[float(x) for x in np.atleast_1d(spix)], disk_arcsec=disk_arcsec or 0.0,
                           limb=limb, origin="manual")
    rows = _rows(md, ref_field, fluxcsv) if standard in ("auto", "flux.csv") else []
    body = body_name(ref_field)
    if body and standard in ("auto", solar_system.NAME):
        try:
            m = body_reference(md, ref_field, body, geometry, disk_arcsec, limb)
        except PipelineError as exc:
            if not rows:
                raise
            m = _row_model(md, ref_field, rows, disk_arcsec, limb)
            m.note = f"{solar_system.NAME} cannot model {ref_field} ({first_line(exc, 160)}): its flux.csv row is used"
            return m
        if rows:
            ratio = [r.I / float(m.spectrum(r.spw, np.array([md.spws[r.spw].centre_freq]))[0]) for r in rows]
            m.note = (f"flux.csv row for {ref_field} ignored (row / model {min(ratio):.3f}"
                      + (f"-{max(ratio):.3f}" if max(ratio) - min(ratio) >= 5e-4 else "")
                      + f" at the spw centres): solar-system bodies get {solar_system.NAME}, as "
                      f"in ALMA's pipeline (setmodel.standard=flux.csv uses the row)")
        return m
    if rows:
        return _row_model(md, ref_field, rows, disk_arcsec, limb)
    src = standards.standard_name(ref_field)
    std = auto_standard(src) if standard == "auto" and src else STANDARDS.get(standard)
    if std is not None and src in std.sources():
        return SourceModel(field=ref_field, disk_arcsec=disk_arcsec or 0.0, limb=limb, origin=std.name,
                           source=src, epoch_year=standards.decimal_year(float(np.mean(md.time_range))))
    if std is not None:
        raise NoFluxModel(f"{std.name} has no model for reference field '{ref_field}'"
                          f"{f' ({src})' if src else ''}; it knows {', '.join(std.sources())}; set "
                          f"setmodel.standard to one that does, or give setmodel.flux or a flux.csv row")
    why = "no flux.csv row" if standard == "flux.csv" else \
        "not in flux.csv and not a source of Perley-Butler 2017 or Stevens-Reynolds 2016"
    raise NoFluxModel(f"no flux model for reference field '{ref_field}': {why}; give setmodel.flux "
                      f"(and spix), a flux.csv row or setmodel.standard")


def _rows(md: MSMetadata, ref_field: str, fluxcsv: str | None) -> list:
    """The MS's flux.csv rows of the field (checked against its spws)."""
    if not fluxcsv or not os.path.exists(fluxcsv):
        return []
    rows = [r for r in read_flux_csv(fluxcsv) if r.field == ref_field and r.ms in ("", md.name)]
    bad = [r for r in rows if r.spw >= len(md.spws)]
    if bad:
        raise PipelineError(f"{fluxcsv}: the row for {ref_field} has spw {bad[0].spw}, but {md.name} has "
                            f"spws 0-{len(md.spws) - 1}; fix the row")
    return rows


def _row_model(md: MSMetadata, ref_field: str, rows: list, disk_arcsec: float | None, limb: float) -> SourceModel:
    per = {r.spw: SpwValue(flux=r.I, reffreq=md.spws[r.spw].centre_freq, spix=[r.spix]) for r in rows}
    first = rows[0]
    d = disk_arcsec if disk_arcsec is not None else _comment_value(first.comment, "diameter")
    return SourceModel(field=ref_field, flux=first.I, reffreq=md.spws[first.spw].centre_freq,
                       spix=[first.spix], disk_arcsec=d, limb=limb, origin="flux.csv",
                       per_spw=per, disk_origin="flux.csv comment" if disk_arcsec is None and d else "")


def body_reference(md: MSMetadata, ref_field: str, body: str, geometry: str, disk_arcsec: float | None,
                   limb: float) -> SourceModel:
    """Butler-JPL-Horizons 2012 for a solar-system body at the field's first time stamp (CASA's
    choice), channel by channel, as an elliptical disk (a user's disk_arcsec replaces it)."""
    fid = md.field_by_name(ref_field).id
    t0 = min((sc.start for sc in md.scans if fid in sc.field_ids), default=md.time_range[0])
    eph = ms_ephemeris(md, fid)
    per, freq, other, tb = {}, {}, {}, {}
    alt = "casa" if geometry == "correct" else "correct"
    for sw in md.spws:
        lo, hi = sw.chan_freq - np.abs(sw.chan_width) / 2, sw.chan_freq + np.abs(sw.chan_width) / 2
        bm = solar_system.body_model(body, t0 / 86400.0, lo, hi, geometry, eph)
        per[sw.id], freq[sw.id], tb[sw.id] = bm.fluxes.tolist(), sw.chan_freq.tolist(), bm.tb_k
        mid = [len(lo) // 2]
        other[sw.id] = float(solar_system.body_model(body, t0 / 86400.0, lo[mid], hi[mid], alt, eph).fluxes[0])
    info = BodyInfo(body=body, mjd=bm.mjd, distance_au=bm.distance_au, sub_earth_lat_deg=bm.sub_earth_lat_deg,
                    radvel_km_s=bm.radvel_km_s, radii_km=list(bm.radii_km), major_arcsec=bm.major_arcsec,
                    minor_arcsec=bm.minor_arcsec, pa_deg=bm.pa_deg, geometry=geometry, source=bm.source,
                    other_geometry=alt, flux_other_geometry=other, tb_k=tb)
    m = SourceModel(field=ref_field, origin=solar_system.NAME, limb=limb, per_chan=per, chan_freq=freq, body=info,
                    disk_arcsec=bm.major_arcsec, minor_arcsec=bm.minor_arcsec, pa_deg=bm.pa_deg,
                    disk_origin=f"{solar_system.NAME} ephemeris ({bm.source}), {bm.distance_au:.4f} AU, "
                                f"{geometry} geometry")
    if disk_arcsec is not None:
        m.disk_arcsec, m.minor_arcsec, m.disk_origin = disk_arcsec, 0.0, "user"
    return m


def _comment_value(comment: str, key: str) -> float:
    for tok in comment.replace("#", " ").split():
        if tok.startswith(key + "="):
            try:
                return float(tok.split("=", 1)[1].removesuffix('"').removesuffix("arcsec"))
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
