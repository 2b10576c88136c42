"""setmodel: who is who (reference, transfer, target fields; science spws) and the reference model.

Field roles follow heuristics.fieldroles (intents, else names); the spws solved are the science
windows (heuristics.spwchoice) or the user's CASA selection. A solar-system reference gets its
disk diameter from the MS's ephemeris table or the built-in ephemeris (fluxpipe.ephemeris);
`disk_arcsec: fit` fits it to the reference's amplitudes (heuristics.disksize), which costs one
extra pass over the reference's rows.
"""
from __future__ import annotations

import logging
import os
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field

from ..components import content_sha, load_structure
from ..context import CatalogueEntry, FieldRoleRecord, SpwRecord
from ..ephemeris import body_size
from ..errors import InputsError, PipelineError
from ..fluxcsv import read_flux_csv
from ..heuristics.disksize import fit_disk
from ..heuristics.fieldroles import assign_roles, catalogue_intents
from ..heuristics.solarsystem import body_name
from ..heuristics.spwchoice import science_spws
from ..models.solar_system import ALIASES, NAME
from ..models.standards import CHOICES, STANDARDS, lookup, same_name
from ..ms import select
from ..qa import model_origin, spws_outside_standard
from ..skymodel import STRUCTURE_ORIGIN, BodyInfo, NoFluxModel, SourceModel, reference_model
from ..stage import Inputs, Results, Stage, Summary, record_inputs
from .common import field_list, reference_uv_data

log = logging.getLogger(__name__)


def reffile_path(reffile: str, ms_path: str) -> str:
    """flux.csv as given when absolute, else beside the MS ('' when none is given)."""
    if not reffile or os.path.isabs(reffile):
        return reffile
    return os.path.join(os.path.dirname(ms_path), reffile)


def _structure_note(s) -> str:
    if s is None:
        return ", point source"
    return (f", {'model image' if s.kind == 'image' else 'component list'} {os.path.basename(s.source)}: "
            f"{len(s.weight)} components, {s.total_jy:.4g} Jy" + (f" at {s.reffreq_hz / 1e9:.4g} GHz" if s.reffreq_hz else "")
            + " (structure scaled to the flux per channel)")


def _origin_note(ref: str, m) -> str:
    """'<ref>: <origin>, disk ... (<where from>)' and the model's own note, if any."""
    shape = (f", disk {m.disk_arcsec:.3f}\" ({m.disk_origin})" if m.disk_arcsec > 0
             else _structure_note(m.structure))
    return f"{ref}: {m.origin}{shape}" + (f" ({m.note})" if m.note else "")


def _structure_files(inputs, ms_path: str) -> dict:
    """The model image's or component list's path and content hash (an edit recomputes)."""
    f = reffile_path(inputs.model_image or inputs.components, ms_path)
    if not f:
        return {}
    try:
        return {"structure": f, "sha": content_sha(f)}
    except OSError:
        return {"structure": f, "sha": None}       # the stage itself reports why


class StructureSummary(BaseModel):
    kind: str                       # 'image' or 'components'
    source: str
    n: int
    total_jy: float
    reffreq_hz: float | None = None


class StandardSummary(BaseModel):
    """The (first) reference's flux-density standard as used: the source's name in it, the
    epoch of its coefficients, their form and values, the standard's range and accuracy."""
    name: str
    source: str
    epoch_year: float | None
    form: str
    coefficients: list
    range_ghz: tuple[float, float]
    accuracy: float


class SetmodelSummary(Summary):
    reference: str                  # comma-separated
    origin: str
    flux_per_spw: dict[int, float]  # the (first) reference's model at each spw's centre
    disk_arcsec: float
    disk_origin: str
    structure: StructureSummary | None
    fields: list[FieldRoleRecord]
    spws: list[SpwRecord]
    spw_selection: str
    standard: StandardSummary | None = None
    body: BodyInfo | None = None


def _standard_summary(m) -> "StandardSummary | None":
    std = STANDARDS.get(m.origin)
    if std is None:
        return None
    return StandardSummary(name=std.name, source=m.source, epoch_year=m.epoch_year, form=std.form,
                           coefficients=list(std.coefficients(m.source, m.epoch_year)),
                           range_ghz=(std.range_hz[0] / 1e9, std.range_hz[1] / 1e9), accuracy=std.accuracy)


def _standard_name(v):
    """A standard's alias (PB2017, Perley-Butler-2013 ...) -> its name; other values unchanged."""
    if isinstance(v, str) and same_name(v, (NAME, *ALIASES)):
        return NAME
    if isinstance(v, str) and v not in CHOICES:
        try:
            return lookup(v).name
        except KeyError:
            return v
    return v


class SetmodelInputs(Inputs):
    reference: str = Field("", description="reference field(s), comma-separated", json_schema_extra={"blank": "intent AMPLITUDE; without intents, by name: a flux-density standard's source, a solar-system body, a flux.csv row", "example": "J0423-0120"})
    reffile: str = Field("flux.csv", description="flux.csv path (relative paths: beside the MS)", json_schema_extra={"example": "/data/flux.csv"})
    standard: Annotated[Literal[(*CHOICES, NAME)], BeforeValidator(_standard_name)] = Field("auto", description="the reference's flux model: 'auto' (a solar-system body: Butler-JPL-Horizons 2012, its flux.csv row ignored as in ALMA's pipeline; other sources: the flux.csv row, else Perley-Butler 2017 where it knows the source, else Stevens-Reynolds 2016), 'flux.csv' (the row only) or one of setjy's standards (its name or alias, e.g. PB2013, Butler-JPL-Horizons 2012)", json_schema_extra={"example": "Perley-Butler 2013"})
    solar_system_geometry: Literal["correct", "casa"] = Field("correct", description="a solar-system body's apparent polar radius and disk orientation: 'correct', or 'casa' (CASA 6.7 takes the sub-Earth latitude in degrees as radians and puts the major axis along the pole); the other geometry's flux is shown beside", json_schema_extra={"example": "casa"})
    flux: float | None = Field(None, gt=0, description="manual Stokes I (Jy) at reffreq_hz; wins over reffile", json_schema_extra={"blank": "by setmodel.standard: the reference's flux.csv row or a standard's model", "example": "1.25"})
    spix: list[float] = Field([0.0], description="spectral index [alpha] or log polynomial [a, b, ...] of a manual flux", json_schema_extra={"example": "[-0.7]"})
    reffreq_hz: float | None = Field(None, gt=0, description="reference frequency of a manual flux", json_schema_extra={"blank": "the mean centre frequency of the spws", "example": "100e9"})
    disk_arcsec: Annotated[float, Field(ge=0)] | Literal["fit"] | None = Field(None, description="disk diameter of the reference (arcsec): 0 = point source, 'fit' = fitted to the data", json_schema_extra={"blank": "a solar-system body's from the MS's EPHEM table, else astropy's ephemeris; flux.csv 'diameter='; else a point source", "example": "fit"})
    limb: float = Field(0.0, ge=0, description="limb-darkening exponent of the disk model, I ~ (1 - r^2)^limb", json_schema_extra={"example": "0.3"})
    model_image: str = Field("", description="model image of the reference: FITS or a CASA image (CLEAN components, Jy/pixel; relative paths: beside the MS), scaled to the reference's flux per channel as setjy does", json_schema_extra={"blank": "no image: a point source or a disk", "example": "3C286_C.fits"})
    components: str = Field("", description="component list of the reference (YAML or JSON: point and Gaussian components, format in fluxpipe.components), scaled like an image; without a standard, flux.csv row or manual flux, its own fluxes", json_schema_extra={"blank": "no component list: a point source or a disk", "example": "3C286_components.yaml"})
    spw: str = Field("", description="spws/channels of every solve (CASA syntax)", json_schema_extra={"blank": "the science windows: CH_AVG, WVR, SQLD and <= 4-channel duplicates left out, with reasons", "example": "0:5~58,2"})


class Setmodel(Stage):
    name = "setmodel"
    Inputs = SetmodelInputs
    Summary = SetmodelSummary
    description = "Field roles, science spws and the reference calibrator's model"
    front_template = "front_setmodel.html"

    def front(self, context, done):
        """Each MS's reference model: where it comes from, its size and its flux per spw."""
        rows = []
        for rec, href in done:
            sm = self.summary_of(rec)
            b = sm.body
            if b is not None:
                size = f'elliptical disk {b.major_arcsec:.3f}" x {b.minor_arcsec:.3f}" at PA {b.pa_deg:.1f} deg'
            elif sm.disk_arcsec:
                size = f'disk {sm.disk_arcsec:.3f}" ({sm.disk_origin})'
            elif sm.structure is not None:
                size = f"{sm.structure.kind}, {sm.structure.n} components"
            else:
                size = "point source"
            rows.append({"ms": rec.ms, "href": href, "reference": sm.reference, "origin": sm.origin,
                         "size": size, "flux": sm.flux_per_spw})
        return {"rows": rows}

    def preflight(self, md, inputs, user):
        if "reffile" in user and inputs.reffile:
            f = reffile_path(inputs.reffile, md.path)
            if not os.path.exists(f):
                raise InputsError(f"setmodel.reffile {inputs.reffile} not found ({f}); give an existing flux.csv")

    def consumes(self, s, inputs):
        """The flux.csv rows of this MS (an edited row recomputes the model and what follows)."""
        md = s.md
        f = reffile_path(inputs.reffile, md.path)
        if not f or not os.path.exists(f):
            return {"reffile": None, **_structure_files(inputs, md.path)}
        try:
            rows = [r.__dict__ for r in read_flux_csv(f) if r.ms in ("", md.name)]
        except PipelineError:
            rows = "unreadable"       # the stage itself reports why
        out = {"reffile": f, "rows": rows}
        return {**out, **_structure_files(inputs, md.path)}

    def run(self, s, inputs, user):
        ms, md = s.name, s.md
        heur = {}
        reffile = reffile_path(inputs.reffile, md.path)
        rows = [r for r in read_flux_csv(reffile) if r.ms in ("", md.name)] \
            if reffile and os.path.exists(reffile) else []
        user_refs = [f.name for f in md.fields_named(inputs.reference)]
        roles = assign_roles([f.name for f in md.fields], [f.intents for f in md.fields],
                             {r.field for r in rows}, user_refs or None,
                             catalogue_intents={r.field: catalogue_intents(r.comment) for r in rows})
        fields = [FieldRoleRecord(id=r.id, name=r.name, role=r.role, rule=r.rule,
                                  intents=sorted(md.fields[r.id].intents)) for r in roles]
        refs = [f.name for f in fields if f.role == "reference"]
        if not refs:
            raise PipelineError(f"{ms}: no reference field (no AMPLITUDE intent and no field named as a "
                                f"flux standard, a solar-system body or in flux.csv); fields: "
                                f"{field_list(md)}; set setmodel.reference")
        if not user_refs:
            heur["reference"] = ",".join(refs)
        spw_sel, spws = self._spws(md, inputs.spw)
        if not inputs.spw:
            heur["spw"] = spw_sel or "all"
        if (inputs.model_image or inputs.components) and len(refs) > 1:
            raise PipelineError(f"{ms}: a model image/component list describes one reference, but there are "
                                f"{len(refs)} ({', '.join(refs)}); set setmodel.reference to the one it shows")
        models, notes = {}, []
        for ref in refs:
            m = self._model(md, ref, reffile, inputs)
            models[ref] = m
            notes.append(_origin_note(ref, m))
            if m.note:
                log.warning("%s: %s", ms, m.note)
        spw_sel, spws, outside = self._in_range(md, models, spw_sel, spws)
        if outside:
            heur["spw"] = spw_sel
        if inputs.disk_arcsec == "fit":
            models = self._fit_sizes(s, models, spw_sel, inputs.limb)
            notes = [_origin_note(r, m) for r, m in models.items()]
        cat = [CatalogueEntry(field=r.field, spw=r.spw, flux_jy=r.I) for r in rows]
        main = models[refs[0]]
        fluxes = {s.id: float(main.evaluate(s.id, s.chan_freq[[len(s.chan_freq) // 2]])[0, 0])
                  for s in md.spws}
        qa = [model_origin(ms, notes, refs[0])] + ([spws_outside_standard(ms, outside, refs[0])] if outside else [])
        transfer = [f.name for f in fields if f.role == "transfer"]
        return Results(stage=self.name, ms=ms, qa=qa, inputs=record_inputs(inputs, user, heur),
                       summary=SetmodelSummary(
                           reference=",".join(refs), origin=main.origin, flux_per_spw=fluxes,
                           disk_arcsec=main.disk_arcsec, disk_origin=main.disk_origin,
                           structure=StructureSummary(kind=main.structure.kind, source=main.structure.source,
                                                      n=len(main.structure.weight), total_jy=main.structure.total_jy,
                                                      reffreq_hz=main.structure.reffreq_hz) if main.structure else None,
                           fields=fields, spws=spws, spw_selection=spw_sel, standard=_standard_summary(main),
                           body=main.body),
                       updates={"reference": refs[0], "references": refs, "reference_models": models,
                                "catalogue": cat, "fields": fields, "transfer": transfer,
                                "spws": spws, "spw_selection": spw_sel, "summary": md.summary()})

    @staticmethod
    def _in_range(md, models, spw_sel: str, spws: list[SpwRecord]):
        """A standard is used only inside its published range: a spw whose centre lies outside it
        gets no model flux (never an extrapolation) and is left out, with a warning."""
        outside = []
        for r in spws:
            for ref, m in models.items():
                std = STANDARDS.get(m.origin)
                f = md.spws[r.id].centre_freq
                if r.used and std is not None and not std.in_range(f):
                    lo, hi = std.range_hz
                    r.used, r.reason = False, (f"{f / 1e9:.4g} GHz is outside {std.name}'s range "
                                               f"({lo / 1e9:.4g}-{hi / 1e9:.4g} GHz) for {ref}: no model flux")
                    log.warning("%s spw %d: %s", md.name, r.id, r.reason)
                    outside.append(r.id)
        if not outside:
            return spw_sel, spws, outside
        used = [r.id for r in spws if r.used]
        if not used:
            raise PipelineError(f"{md.name}: every spw is outside the reference standard's range "
                                f"({spws[0].reason}); choose another setmodel.standard or give setmodel.flux")
        if not spw_sel:
            return ",".join(str(i) for i in used), spws, outside
        parts = [p.strip() for p in spw_sel.split(",")]
        if not all(p.split(":")[0].isdigit() for p in parts):
            raise PipelineError(f"{md.name}: spw {', '.join(map(str, outside))} of setmodel.spw={spw_sel!r} "
                                f"is outside the reference standard's range; list the spws in setmodel.spw "
                                f"one by one without it")
        return ",".join(p for p in parts if int(p.split(":")[0]) in used), spws, outside

    @staticmethod
    def _spws(md, spw: str) -> tuple[str, list[SpwRecord]]:
        choice = science_spws([s.name for s in md.spws], [s.nchan for s in md.spws])
        if spw:
            sel = select(md, spw=spw)          # validates; a one-line error names the valid spws
            used = set(sel.spw_ids(md))
            recs = [SpwRecord(id=c.id, name=c.name, nchan=c.nchan, used=c.id in used,
                              reason="user selection" if c.id in used else "not in the user's selection")
                    for c in choice]
            return spw, recs
        recs = [SpwRecord(id=c.id, name=c.name, nchan=c.nchan, used=c.science, reason=c.reason)
                for c in choice]
        used = [r.id for r in recs if r.used]
        return ("" if len(used) == len(recs) else ",".join(map(str, used))), recs

    @staticmethod
    def _model(md, ref, reffile, inputs):
        disk = inputs.disk_arcsec if isinstance(inputs.disk_arcsec, float) else None
        structure = None
        if inputs.model_image or inputs.components:
            if inputs.model_image and inputs.components:
                raise PipelineError("setmodel.model_image and setmodel.components are both set; give one")
            if inputs.disk_arcsec is not None:     # a body's automatic disk is replaced, a user's is an error
                raise PipelineError("setmodel.disk_arcsec and a model image/component list are both set; "
                                    "give one (the image holds the structure)")
            f = md.field_by_name(ref)
            structure = load_structure(reffile_path(inputs.model_image or inputs.components, md.path), f.ra, f.dec)
            disk = 0.0
        try:
            m = reference_model(md, ref, reffile, inputs.flux, inputs.spix, inputs.reffreq_hz,
                                inputs.standard, disk, inputs.limb, inputs.solar_system_geometry)
        except NoFluxModel:
            if structure is None:
                raise
            m = SourceModel(field=ref, flux=structure.total_jy, reffreq=structure.reffreq_hz,
                            origin=STRUCTURE_ORIGIN)
        if disk is not None and m.disk_arcsec > 0 and m.origin != NAME:
            m.disk_origin = "user"
        body = body_name(ref)
        if body and disk is None and structure is None and m.origin != NAME:
            # a body's flux.csv row or manual flux: the disk from the ephemeris (Butler-JPL-Horizons
            # models carry their own)
            size = body_size(md, md.field_by_name(ref).id, body)
            m.disk_arcsec, m.disk_origin = size.diameter_arcsec, f"{size.origin}; {size.distance_au:.4f} AU"
        m.structure = structure
        return m

    @staticmethod
    def _fit_sizes(s, models, spw_sel, limb):
        """disk_arcsec 'fit': each reference's size from its amplitudes (antenna gains free)."""
        md = s.md
        ids = [md.field_by_name(r).id for r in models]
        cube, _ = s.cube(fields=ids, models=models, spw=spw_sel)
        out = {}
        for ref, fid in zip(models, ids):
            data = reference_uv_data(cube, fid)
            fit = fit_disk(*data, limb=limb) if data is not None else None
            if fit is None:
                raise PipelineError(f"{ref}: too few unflagged rows to fit a disk size; give "
                                    f"setmodel.disk_arcsec")
            m = models[ref].model_copy()
            m.disk_arcsec = fit.theta_arcsec
            m.disk_origin = f"fitted to the data ± {fit.error_arcsec:.3f}\""
            out[ref] = m
        return out
