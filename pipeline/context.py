"""The Context: what the MSes hold, the calibration state, the results. JSON after every stage.

Everything here is typed (pydantic) plain data. Paths of outputs (caltables, the cube,
artefacts) are relative to the output folder, so a run folder can be moved: `Context.load`
takes the folder it was loaded from as its `outdir`.
"""
from __future__ import annotations

import json
import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .fluxes import DerivedFlux, FieldFlux, SpectralFitResult, SpwFlux  # noqa: F401  (re-exported)
from .qa import QAScore
from .skymodel import SourceModel

Role = Literal["precal", "phase", "amplitude", "fluxscaled"]


class CalEntry(BaseModel):
    """A table in the calibration library, asked for by its role, not by the stage that made it."""
    role: Role
    table: str                      # relative to the output folder
    stage: str
    gainfield: str = ""
    interp: str = "linear"
    spwmap: list[int] = Field(default_factory=list)
    calwt: bool = True
    debiased: bool = False          # solved with the noise corrections (ampsolve.debias)


class ResolvedSelection(BaseModel):
    """Antennas used for the reference field (empty: all)."""
    antennas: list[int] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)
    cutoff_m: float | None = None
    fell_back: bool = False
    uvrange_m: list[float] = Field(default_factory=list)
    reason: str = ""


class FieldRoleRecord(BaseModel):
    """A field's role in the flux transfer and the rule that gave it."""
    id: int
    name: str
    role: Literal["reference", "transfer", "target", "other"]
    rule: str
    intents: list[str] = Field(default_factory=list)


class SpwRecord(BaseModel):
    """A spectral window and whether it is solved (science windows), with the reason."""
    id: int
    name: str
    nchan: int
    used: bool
    reason: str


class FlagRecord(BaseModel):
    """One amplitude solution ampflag flagged."""
    field: str | int
    spw: int
    antenna: str | int
    pol: int
    time: float
    amplitude: float
    deviation_mad: float
    reason: str


class CatalogueEntry(BaseModel):
    field: str
    spw: int
    flux_jy: float


class CubeRef(BaseModel):
    folder: str                     # relative to the output folder
    keys: dict[int, str] = Field(default_factory=dict)    # field -> key of its blocks
    rows: int = 0                   # MS rows behind the cube's fields
    bytes_read: int = 0             # bytes one pass over them reads
    seconds: float = 0.0            # seconds of the passes that built them


class IOStats(BaseModel):
    """What a run did to the MS: bytes read (all passes), the one pass's bytes, bytes written."""
    bytes_read: int = 0
    cube_pass_bytes: int = 0
    passes: float = 0.0              # bytes_read / cube_pass_bytes (1.0: read once)
    bytes_written: int = 0
    write_seconds: float = 0.0


class MSState(BaseModel):
    """One MS's state; stages change it only through Results.updates (validated on assignment)."""
    model_config = ConfigDict(validate_assignment=True)

    path: str
    name: str
    summary: dict = Field(default_factory=dict)
    refants: list[int] = Field(default_factory=list)
    reference: str = ""             # the (first) reference field
    references: list[str] = Field(default_factory=list)
    transfer: list[str] = Field(default_factory=list)
    fields: list[FieldRoleRecord] = Field(default_factory=list)
    spws: list[SpwRecord] = Field(default_factory=list)
    spw_selection: str = ""         # CASA spw selection of the pass ('' = all)
    reference_models: dict[str, SourceModel] = Field(default_factory=dict)
    resolved: ResolvedSelection = Field(default_factory=ResolvedSelection)
    callibrary: list[CalEntry] = Field(default_factory=list)
    flags: list[FlagRecord] = Field(default_factory=list)
    fluxes: dict[str, FieldFlux] = Field(default_factory=dict)
    catalogue: list[CatalogueEntry] = Field(default_factory=list)
    cube: CubeRef | None = None
    model_data: str = ""            # what MODEL_DATA holds after writeback
    write_interrupted: bool = False  # the previous write-back did not finish
    io: IOStats = Field(default_factory=IOStats)
    identity: dict = Field(default_factory=dict)   # path, rows, time range (runguard.ms_identity)

    @property
    def reference_model(self) -> SourceModel | None:
        return self.reference_models.get(self.reference)

    def calibration(self, role: Role) -> CalEntry | None:
        """The library's table for `role` (the latest registered)."""
        hits = [e for e in self.callibrary if e.role == role]
        return hits[-1] if hits else None

    def catalogue_flux(self, field: str, spw: int) -> float | None:
        return next((c.flux_jy for c in self.catalogue if c.field == field and c.spw == spw), None)


class StageRecord(BaseModel):
    index: int
    stage: str
    ms: str
    ok: bool
    inputs: dict = Field(default_factory=dict)      # name -> {"value", "source"}
    summary: dict = Field(default_factory=dict)
    qa: list[QAScore] = Field(default_factory=list)
    artefacts: dict[str, str] = Field(default_factory=dict)   # name -> path relative to outdir
    error: str = ""
    seconds: float = 0.0
    run_at: float = 0.0             # when the stage ran (a reused stage keeps its time)
    fingerprint: str = ""           # of what the stage consumed, chained with the stages before
    own_fingerprint: str = ""       # of its own inputs and data only (why it was recomputed)


class Context(BaseModel):
    outdir: str
    recipe: str = ""
    command: str = ""
    version: str = ""
    started: float = 0.0
    finished: float = 0.0
    ms: dict[str, MSState] = Field(default_factory=dict)
    results: list[StageRecord] = Field(default_factory=list)
    part: str = ""   # set in a parallel worker: it saves context.<part>.json

    @property
    def path(self) -> str:
        return os.path.join(self.outdir, f"context.{self.part}.json" if self.part else "context.json")

    def abspath(self, rel: str) -> str:
        """An output path recorded relative to the output folder -> absolute."""
        return rel if os.path.isabs(rel) else os.path.join(self.outdir, rel)

    def save(self) -> None:
        os.makedirs(self.outdir, exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(self.model_dump_json(indent=1))
        os.replace(tmp, self.path)

    @classmethod
    def load(cls, outdir: str) -> "Context":
        from pydantic import ValidationError

        from .errors import PipelineError, first_line
        p = os.path.join(outdir, "context.json")
        if not os.path.exists(p):
            raise PipelineError(f"no context.json in {outdir}; give the output folder of a fluxpipe run")
        try:
            with open(p) as fh:
                ctx = cls.model_validate(json.load(fh))
        except (OSError, UnicodeDecodeError, ValueError, ValidationError) as exc:
            first = first_line(exc, 120)
            raise PipelineError(f"{p} is not a readable fluxpipe context ({first}); remove it and run "
                                f"again without --resume") from None
        ctx.outdir = os.path.abspath(outdir)
        return ctx

    def fluxes_json(self) -> dict[str, Any]:
        """OUTDIR/fluxes.json: per MS and field the role, per-spw values, fit and derived fluxes."""
        out = {}
        for name, st in self.ms.items():
            fields = {}
            for ref in st.references or ([st.reference] if st.reference else []):
                m = st.reference_models.get(ref)
                fields[ref] = {"role": "reference", "model": m.model_dump() if m else {}}
            for f, r in st.fluxes.items():
                d = r.model_dump()
                fields[f] = {"role": "transfer", "spws": {s: _spw_json(v) for s, v in r.spws.items()},
                             "fit": d["fit"], "derived": d["derived"]}
            out[name] = fields
        return out


def _spw_json(v: SpwFlux) -> dict:
    d = {k: x for k, x in v.model_dump(exclude_none=True).items() if x != "" or k == "reason"}
    if v.missing:
        d["flux_jy"] = None
    else:
        d.pop("missing")
    return d
