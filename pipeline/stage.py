"""Stage protocol. A stage = an Inputs model + run(context, ms, inputs, user) -> Results.

The registry is the plain dict `fluxpipe.stages.STAGES`; nothing registers itself on import.

Inputs (pydantic): one declaration per parameter (type, default, bounds, description). Unknown
keys are errors that name the valid ones. `None` defaults mean "decided per MS by a heuristic";
the Results record which values were defaults, heuristic or set by the user.
"""
from __future__ import annotations

import shlex
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from .context import Context, StageRecord
from .errors import InputsError, valid_list
from .qa import QAScore


class Inputs(BaseModel):
    """Every number finite (no inf, nan), and a boolean never taken for a number."""
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_numbers(cls, data):
        if isinstance(data, dict):
            for k, v in data.items():
                f = cls.model_fields.get(k)
                if isinstance(v, bool) and f is not None and "bool" not in str(f.annotation):
                    raise ValueError(f"{k}: {v!r} is a boolean; give a {_type_text(f.annotation)}")
        return data


class Summary(BaseModel):
    """A stage's summary (each stage declares its own subclass: the fields its page, its plots
    and the JSON outputs read). Stored in the StageRecord as JSON-ready data."""
    model_config = ConfigDict(extra="forbid")


class Results(BaseModel):
    stage: str
    ms: str
    summary: BaseModel = Summary()      # the stage's own Summary subclass
    qa: list[QAScore] = []
    inputs: dict = {}
    artefacts: dict[str, str] = {}   # name -> path relative to the output folder (plots etc.)
    updates: dict[str, Any] = {}     # MSState fields to set (validated on assignment)

    def merge_into(self, context: Context, index: int, seconds: float) -> None:
        """The only way a stage changes the Context: set its MSState fields, add its record."""
        if self.updates:    # a run-wide stage (scope 'all') has no MS state to set
            st = context.ms[self.ms]
            bad = sorted(set(self.updates) - set(type(st).model_fields))
            if bad:
                raise TypeError(f"stage {self.stage} updates unknown MS state field(s) {bad}")
            for k, v in self.updates.items():
                setattr(st, k, v)
        context.results.append(StageRecord(index=index, stage=self.stage, ms=self.ms, ok=True,
                                           inputs=self.inputs, summary=self.summary.model_dump(mode="json"),
                                           qa=self.qa,
                                           artefacts=self.artefacts, seconds=seconds,
                                           run_at=time.time()))


class Stage:
    name: str = ""
    Inputs: type[Inputs] = Inputs
    Summary: type[Summary] = Summary
    description: str = ""
    writes_ms: bool = False         # True: the stage writes into the MS (locks, preflight)
    uses_cube: bool = False         # True: it reads the calibrator cube (the one pass comes before it)
    scope: str = "ms"               # 'ms': once per MS; 'all': once per run, after every MS (ms='all')

    def preflight(self, md, inputs: Inputs, user: set[str]) -> None:
        """Checks on one MS before any work (files the inputs name exist ...); raise an InputsError."""

    def cube_fields(self, s, inputs: Inputs) -> set[int]:
        """Fields this stage needs in the one pass beyond the references and transfer fields."""
        return set()

    def write_outputs(self, context: Context) -> None:
        """Files of the whole run this stage owns (beside context.json), written at its end."""

    # -- its weblog parts: a page template, plots, page data and a front-page section ----------
    front_template: str = ""        # a template of weblog_templates/ for front(); '' = none

    @property
    def template(self) -> str:
        """The stage's part of its page (weblog_templates/stage_NAME.html; may be absent)."""
        return f"stage_{self.name}.html"

    def plots(self, rec: StageRecord, st, outdir: str, base: str, abspath) -> list:
        """The page's figures (weblog.figures.Figure, files under outdir named from base) from the
        record's artefacts and summary; the weblog draws them all at once, in parallel."""
        return []

    def summary_of(self, rec: StageRecord):
        """The record's summary as this stage's typed Summary."""
        return self.Summary.model_validate(rec.summary)

    def page(self, rec: StageRecord, st) -> dict:
        """More variables for the page template."""
        return {}

    def front(self, context: Context, done: list[tuple[StageRecord, str]]) -> dict | None:
        """The front page's section (front_template's `f.d`) from this stage's records and pages;
        its "figures" (weblog.figures.Figure, in OUTDIR/weblog) are drawn with the pages'."""
        return None

    def consumes(self, s, inputs: Inputs) -> dict:
        """What the stage reads beyond its inputs and the MS (files), for its fingerprint."""
        return {}

    def run(self, s, inputs: Inputs, user: set[str]) -> Results:  # pragma: no cover
        """s: the run's Session of this MS (fluxpipe.session; for a run-wide stage, one whose
        name is 'all'); user: the names of the inputs the user set."""
        raise NotImplementedError


def make_inputs(stage: Stage, params: dict) -> Inputs:
    valid = list(stage.Inputs.model_fields)
    bad = [k for k in params if k not in valid]
    if bad:
        raise InputsError(f"stage {stage.name} has no parameter '{bad[0]}'; valid: {valid_list(valid)}")
    try:
        return stage.Inputs(**params)
    except ValidationError as exc:
        e = exc.errors()[0]
        if not e["loc"]:        # a check of the whole model: its message names the parameter
            raise InputsError(f"{stage.name}.{e['msg'].removeprefix('Value error, ')}") from None
        raise InputsError(f"{stage.name}.{'.'.join(map(str, e['loc']))}: {e['msg']} "
                          f"(got {e.get('input')!r})") from None


def record_inputs(inputs: Inputs, user: set[str], resolved: dict[str, Any]) -> dict:
    """name -> {value, source}: 'user' wins; else 'heuristic' when decided per MS, else 'default'."""
    out = {}
    for k in type(inputs).model_fields:
        v = getattr(inputs, k)
        if k in user:
            out[k] = {"value": v, "source": "user"}
        elif k in resolved:
            out[k] = {"value": resolved[k], "source": "heuristic"}
        else:
            out[k] = {"value": v, "source": "default"}
    return out


def _type_text(annotation) -> str:
    """'float', 'str', "'automatic' | 'manual'", 'list[int]', 'float or None' ..."""
    from types import UnionType
    from typing import Annotated, Literal, Union, get_args, get_origin
    origin = get_origin(annotation)
    if origin is Annotated:                 # a checked type (Solint): its underlying type
        return _type_text(get_args(annotation)[0])
    if origin is dict:
        k, v = get_args(annotation)
        return f"dict[{_type_text(k)}, {_type_text(v)}]"
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(annotation))
    if origin in (Union, UnionType):
        return " or ".join(_type_text(a) for a in get_args(annotation))
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", None) if origin is None else str(annotation).replace("typing.", "")


def _constraint_text(m) -> str:
    """Readable form of a field constraint; '' for internal validators."""
    for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        if hasattr(m, attr) and type(m).__name__.lower() == attr:
            return f"{sym} {getattr(m, attr)}"
    if getattr(m, "pattern", None):
        return f"matching {m.pattern}"
    for attr, word in (("min_length", "at least"), ("max_length", "at most")):
        if getattr(m, attr, None) is not None and type(m).__name__ in ("MinLen", "MaxLen"):
            return f"{word} {getattr(m, attr)} items"
    return ""


def describe(stage: Stage) -> list[dict]:
    """Per parameter: name, type (with bounds), default, description, the heuristic that decides
    a blank value, and an example --set line; for `fluxpipe inputs STAGE` and the weblog."""
    rows = []
    for k, f in stage.Inputs.model_fields.items():
        t = _type_text(f.annotation)
        bounds = ", ".join(c for c in (_constraint_text(m) for m in f.metadata) if c)
        lens = [getattr(m, a) for m in f.metadata for a in ("min_length", "max_length") if hasattr(m, a)]
        if len(lens) == 2 and lens[0] == lens[1]:
            bounds = f"exactly {lens[0]} items"
        extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
        rows.append({"name": k, "type": t + (f" ({bounds})" if bounds else ""), "default": repr(f.default),
                     "description": f.description or "", "blank": extra.get("blank", ""),
                     "example": "--set " + shlex.quote(f"{stage.name}.{k}={extra.get('example') or _example(f)}")})
    return rows


def _example(f) -> str:
    """A value for the example --set line, when the field gives none: another Literal choice,
    the other boolean, a number inside the bounds, a list in YAML syntax."""
    from types import UnionType
    from typing import Literal, Union, get_args, get_origin
    d = f.default
    ann = f.annotation
    members = [a for a in get_args(ann) if a is not type(None)] if get_origin(ann) in (Union, UnionType) else [ann]
    for a in members:
        if get_origin(a) is Literal:
            return next((str(v) for v in get_args(a) if v != d), str(d))
    if get_origin(members[0]) is list:
        return "[" + ",".join(map(str, d or ["VALUE"])) + "]"
    if bool in members:
        return str(not d).lower()
    lo = next((getattr(m, a) for m in f.metadata for a in ("ge", "gt") if type(m).__name__.lower() == a), None)
    if int in members:
        return str((d if isinstance(d, int) else lo or 0) + 1)
    if float in members:
        return f"{(d if isinstance(d, float) and d > 0 else 1.0) * 1.5:g}"
    return str(d) if d else "VALUE"
