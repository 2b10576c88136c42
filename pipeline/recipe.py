"""Recipes: YAML lists of stages with parameters, run over one or more MSes.

A recipe file: `stages: [ {stage_name: {param: value}}, ... ]`. `--set stage.param=value`
overrides are parsed by the parameter's type (a string parameter takes the text as typed;
numbers, booleans and lists use YAML syntax) and validated against the stage's Inputs.
Each MS runs all stages in order in its own process when parallel > 1, or as one task on a
dask.distributed cluster with a scheduler address (fluxpipe.distribute; results identical to
a serial run); the Context is saved to OUTDIR/context.json after every stage, and `resume`
skips the stages an MS has already completed.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
from types import UnionType
from typing import Union, get_args, get_origin

import yaml

from . import __version__, qa
from .context import Context, MSState, StageRecord
from .distribute import run_many
from .errors import InputsError, PipelineError
from .ms import read_metadata
from .ms.metadata import ms_content
from .runguard import RunLock, check_ms_writable, check_outdir, ms_identity, unique_names
from .session import Session
from .stage import make_inputs
from .stages import get_stage

log = logging.getLogger(__name__)


def recipe_path(name: str) -> str:
    if os.path.exists(name):
        return name
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (os.path.join(here, "recipes"), os.path.join(os.path.dirname(here), "recipes")):
        p = os.path.join(d, name if name.endswith(".yaml") else name + ".yaml")
        if os.path.exists(p):
            return p
    raise InputsError(f"recipe '{name}' not found; give a YAML path or a built-in name (gfluxscale, gfluxscale_casa)")


def _plain_str(annotation) -> bool:
    """True when a parameter is a string (or optional string): its --set value is taken as
    typed, never parsed as YAML ('5' stays '5', '!DV01' stays '!DV01')."""
    if annotation is str:
        return True
    args = [a for a in get_args(annotation) if a is not type(None)]
    return get_origin(annotation) in (Union, UnionType) and args == [str]


def parse_override(stage, pname: str, raw: str):
    """--set value -> Python value by the parameter's pydantic type: strings stay strings;
    numbers, booleans and lists are parsed (YAML syntax: [a,b], [[0,0]], true)."""
    field = stage.Inputs.model_fields.get(pname)
    if raw == "" or field is None or _plain_str(field.annotation):
        return raw
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw          # pydantic names the parameter and the expected type


def load_recipe(name: str, overrides: list[str] | None = None) -> list[tuple[str, dict, set]]:
    """-> [(stage, params, user-set names)], validated (unknown stage or parameter: error)."""
    path = recipe_path(name)
    try:
        with open(path) as fh:
            doc = yaml.safe_load(fh) or {}
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where else ""
        raise InputsError(f"recipe {path} is not valid YAML{at} ({getattr(exc, 'problem', exc)}); "
                          f"fix the recipe") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputsError(f"cannot read recipe {path} ({exc}); give a readable YAML file") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("stages"), list):
        raise InputsError(f"{path}: a recipe needs a 'stages:' list of {{stage: {{param: value}}}} items")
    if not doc["stages"]:
        raise InputsError(f"{path}: the recipe's 'stages:' list is empty; give at least one stage")
    steps = []
    for item in doc["stages"]:
        if isinstance(item, dict) and len(item) != 1:
            raise InputsError(f"{path}: recipe item {item} has {len(item)} keys; each item is one "
                              f"stage: {{stage: {{param: value}}}}")
        (sname, params), = (item.items() if isinstance(item, dict) else [(item, {})])
        stage = get_stage(str(sname))
        if params is not None and not isinstance(params, dict):
            raise InputsError(f"{path}: parameters of stage {sname} must be a mapping, not {params!r}")
        params = dict(params or {})
        make_inputs(stage, params)
        steps.append((sname, params, set(params)))
    for ov in overrides or []:
        key, sep, val = ov.partition("=")
        sname, dot, pname = key.partition(".")
        if not sep or not dot:
            raise InputsError(f"override '{ov}' must look like stage.param=value")
        hits = [s for s in steps if s[0] == sname]
        if not hits:
            raise InputsError(f"override '{ov}': stage '{sname}' is not in the recipe; stages: "
                              f"{', '.join(s[0] for s in steps)}")
        for _, params, user in hits:
            params[pname] = parse_override(get_stage(sname), pname, val)
            user.add(pname)
            make_inputs(get_stage(sname), params)
    return steps


def _progress():
    """A rich progress bar on an interactive terminal (and not with -q); else None."""
    if not sys.stderr.isatty() or logging.getLogger("fluxpipe").getEffectiveLevel() > logging.INFO:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), transient=True)


def _hash(doc) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run_ms(ms_path: str, name: str, steps, resume: bool, context: Context, progress=None) -> Context:
    """Run the steps on one MS; the data flow, in order:

    metadata -> for each stage: inputs -> fingerprint (reuse on --resume) -> [the one pass,
    before the first stage that reads calibrator data] -> run -> Results -> merge -> save.

    A stage's fingerprint covers what it consumed (its effective inputs, the data it reads: MS
    content, flux.csv rows, pre-applied tables) and the fingerprint of the stage before it.
    With `resume`, a completed stage whose fingerprint is unchanged is reused; the first one
    that changed, and every stage after it, is recomputed (logged with the reason). The one
    pass reads every field any stage of the recipe needs (fluxpipe.session)."""
    md = read_metadata(ms_path)
    ident = ms_identity(md)
    st = context.ms.get(name)
    if st is not None and resume and st.identity and st.identity != ident:
        raise InputsError(f"{context.outdir} holds a run of another MS under the name {name} "
                          f"({st.identity.get('path')}, {st.identity.get('nrows')} rows); give a new "
                          f"--out or drop --resume")
    if st is None or not resume:
        context.ms[name] = MSState(path=md.path, name=name, summary=md.summary(), identity=ident)
        context.results = [r for r in context.results if r.ms != name]
    session = Session(context, name, md)
    session.progress = progress
    try:
        _run_steps(session, [(i, get_stage(sn), p, u) for i, (sn, p, u) in enumerate(steps)], resume, progress)
    finally:
        session.close()
    return context


def _run_steps(s: Session, steps, resume: bool, progress) -> None:
    context, name, st = s.context, s.name, s.state
    task = progress.add_task(name, total=len(steps)) if progress else None
    fp = _hash({"ms": st.identity, "content": ms_content(s.md)})
    recomputing = not resume
    passed = False
    for i, stage, params, user in steps:
        if task is not None:
            progress.update(task, completed=i, description=f"{name}: {stage.name}")
        if stage.scope != "ms":     # run-wide stages run after every MS (_run_all)
            continue
        inputs = make_inputs(stage, params)
        own = _hash({"stage": stage.name, "inputs": inputs.model_dump(mode="json"),
                     "consumes": stage.consumes(s, inputs)})
        fp = _hash({"up": fp, "own": own})
        prev = next((r for r in context.results if r.ms == name and r.index == i and r.stage == stage.name
                     and r.ok), None)
        if not recomputing:
            if prev is not None and prev.fingerprint == fp:
                log.info("%s: %s unchanged, reused", name, stage.name)
                continue
            why = ("it had not completed" if prev is None else "its inputs or the data it reads changed"
                   if prev.own_fingerprint != own else "an earlier stage changed")
            log.warning("%s: recomputing from %s on (%s)", name, stage.name, why)
            context.results = [r for r in context.results if not (r.ms == name and r.index >= i)]
            recomputing = True
        context.results = [r for r in context.results if not (r.ms == name and r.index == i)]
        if stage.writes_ms:
            st.write_interrupted = st.model_data.startswith("writing")
            st.model_data = "writing (a run stopped here leaves MODEL_DATA partly written: rerun with --resume)"
            context.save()
        t = time.perf_counter()
        try:
            if stage.uses_cube and not passed:      # the one pass: every field the recipe needs
                for _, later, p, _ in steps[i:]:
                    s.extra_fields |= later.cube_fields(s, make_inputs(later, p))
                s.one_pass()
                passed = True
            res = stage.run(s, inputs, user)
        except PipelineError as exc:
            context.results.append(StageRecord(index=i, stage=stage.name, ms=name, ok=False, error=str(exc),
                                               qa=[qa.stage_failed(name, stage.name, str(exc))],
                                               seconds=time.perf_counter() - t))
            _record_io(st, s)
            context.save()
            raise PipelineError(f"{name}: stage {i + 1} ({stage.name}) failed: {exc}") from None
        res.merge_into(context, i, time.perf_counter() - t)
        context.results[-1].fingerprint, context.results[-1].own_fingerprint = fp, own
        _record_io(st, s)
        context.save()
        log.info("%s: %s done in %.2f s", name, stage.name, time.perf_counter() - t)
    if task is not None:
        progress.update(task, completed=len(steps))


def _record_io(st: MSState, s: Session) -> None:
    """What this run read and wrote (a reused stage adds nothing)."""
    io = st.io
    io.bytes_read, io.bytes_written, io.write_seconds = s.io.bytes_read, s.io.bytes_written, s.io.write_seconds
    io.cube_pass_bytes = st.cube.bytes_read if st.cube else 0
    io.passes = io.bytes_read / io.cube_pass_bytes if io.cube_pass_bytes else 0.0


def _run_all(ctx: Context, steps, errors: list[str]) -> None:
    """The run-wide stages (scope 'all'), once, over the MSes that have results;
    recomputed every time (they only read the Context). Nothing to do for a single MS."""
    ctx.results = [r for r in ctx.results if r.ms != "all"]
    if len(ctx.ms) < 2:
        return
    for i, (sname, params, user) in enumerate(steps):
        stage = get_stage(sname)
        if stage.scope != "all":
            continue
        t = time.perf_counter()
        try:
            res = stage.run(Session(ctx, "all"), make_inputs(stage, params), user)
        except PipelineError as exc:
            errors.append(f"stage {sname} (all EBs) failed: {exc}")
            continue
        res.merge_into(ctx, i, time.perf_counter() - t)


def _preflight(steps, mses: list[str], outdir: str):
    """Everything that can be checked before any work (fluxpipe.runguard, and each stage's own
    `preflight`)."""
    out = check_outdir(outdir)
    names = unique_names(mses)
    mds = [read_metadata(m) for m in mses]
    writes = any(get_stage(s).writes_ms for s, _, _ in steps)
    for md in mds:
        if writes:
            check_ms_writable(md)
        for s, params, user in steps:
            get_stage(s).preflight(md, make_inputs(get_stage(s), params), user)
    locks = [RunLock(os.path.join(out, ".fluxpipe.lock"), f"output folder {out}")]
    if writes:
        locks += [RunLock(os.path.join(os.path.dirname(md.path), f".{os.path.basename(md.path)}.fluxpipe.lock"),
                          f"MeasurementSet {md.path}") for md in mds]
    return out, names, locks


def run_recipe(recipe: str, mses: list[str], outdir: str = "fluxpipe_out", overrides=None,
               resume: bool = False, parallel: int = 1, weblog: bool = True, scheduler: str = "") -> Context:
    """Run `recipe` over `mses`; write OUTDIR/context.json, fluxes.json and (weblog) the weblog.
    Preflight checks and locks come first (fluxpipe.runguard); nothing is computed before."""
    steps = load_recipe(recipe, overrides)
    outdir, names, locks = _preflight(steps, mses, outdir)
    held = []
    try:
        for lk in locks:
            held.append(lk.acquire())
        return _run_locked(recipe, steps, mses, names, outdir, resume, parallel, weblog, scheduler)
    finally:
        for lk in held:
            lk.release()


def _run_locked(recipe, steps, mses, names, outdir, resume, parallel, weblog, scheduler="") -> Context:
    if weblog:      # the figures' drawing processes import matplotlib while the stages compute
        from .weblog.figures import warm_up
        warm_up()
    if resume and os.path.exists(os.path.join(outdir, "context.json")):
        ctx = Context.load(outdir)
        ctx.command, ctx.finished = " ".join(sys.argv), 0.0
    else:
        ctx = Context(outdir=outdir, recipe=recipe, version=__version__,
                      command=" ".join(sys.argv), started=time.time())
    errors = []
    if scheduler or (parallel > 1 and len(mses) > 1):
        base = ctx.model_dump_json()
        # absolute paths: a worker's working directory is not the client's
        errors = run_many(ctx, [(run_ms, os.path.abspath(m), n, steps, resume, base) for m, n in zip(mses, names)],
                          parallel, scheduler)
    else:
        progress = _progress()
        if progress:
            progress.start()
        try:
            for m, n in zip(mses, names):       # a failing MS never stops the others
                try:
                    run_ms(m, n, steps, resume, ctx, progress)
                except PipelineError as exc:
                    errors.append(str(exc))
        finally:
            if progress:
                progress.stop()
    _run_all(ctx, steps, errors)
    ctx.results.sort(key=lambda r: (list(ctx.ms).index(r.ms) if r.ms in ctx.ms else len(ctx.ms), r.index))
    ctx.finished = time.time()
    ctx.save()
    with open(os.path.join(outdir, "fluxes.json"), "w") as fh:
        json.dump(ctx.fluxes_json(), fh, indent=1)
    for sname in dict.fromkeys(s for s, _, _ in steps):
        get_stage(sname).write_outputs(ctx)
    if weblog:
        from .weblog import render
        render(ctx)
    if errors:
        raise PipelineError(_failure_message(ctx, errors, outdir, weblog))
    return ctx


def _failure_message(ctx: Context, errors: list[str], outdir: str, weblog: bool) -> str:
    """Which MSes failed (each error) and what was kept: the same in every mode."""
    failed = {r.ms for r in ctx.results if not r.ok}
    good = [m for m in ctx.ms if m not in failed]
    kept = (f"the results of {', '.join(good)} are complete" if good else "no MS completed") + \
        f"; context{', fluxes.json and weblog' if weblog else ' and fluxes.json'} in {outdir}"
    return "; ".join(errors) + f" ({kept}; fix it and rerun with --resume)"
