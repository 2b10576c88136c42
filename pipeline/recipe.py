"""Recipes: YAML lists of stages with parameters, run over one or more MSes.

A recipe file: `stages: [ {stage_name: {param: value}}, ... ]`. `--set stage.param=value`
overrides are parsed as YAML scalars/lists and validated against the stage's Inputs.
Each MS runs all stages in order in its own process when parallel > 1 (results identical to
a serial run); the Context is saved to OUTDIR/context.json after every stage, and `resume`
skips the stages an MS has already completed.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import yaml

from . import __version__
from .context import Context, MSState, StageRecord
from .errors import InputsError, PipelineError
from .ms import read_metadata
from .ms.model import WriteStats
from .ms.reader import ReadStats
from .qa import QAScore
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
    raise InputsError(f"recipe '{name}' not found; give a YAML path or a built-in name (gfluxscale)")


def load_recipe(name: str, overrides: list[str] | None = None) -> list[tuple[str, dict, set]]:
    """-> [(stage, params, user-set names)], validated (unknown stage or parameter: error)."""
    path = recipe_path(name)
    with open(path) as fh:
        doc = yaml.safe_load(fh) or {}
    if not isinstance(doc.get("stages"), list):
        raise InputsError(f"{path}: a recipe needs a 'stages:' list")
    steps = []
    for item in doc["stages"]:
        (sname, params), = (item.items() if isinstance(item, dict) else [(item, {})])
        stage = get_stage(sname)
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
            params[pname] = yaml.safe_load(val) if val != "" else ""
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


def run_ms(ms_path: str, steps, outdir: str, resume: bool, context: Context, progress=None) -> Context:
    """Run all steps on one MS: for each stage, inputs -> run -> Results -> merge -> save.

    The first stage that needs the calibrator data triggers the one pass that builds the cube
    (pipeline.stages.common.open_cube); every later stage, and a resumed run, reuses it."""
    name = os.path.basename(os.path.abspath(ms_path).rstrip("/"))
    if name not in context.ms:
        md = read_metadata(ms_path)
        context.ms[name] = MSState(path=md.path, name=name, summary=md.summary())
    done = context.completed(name) if resume else []
    task = progress.add_task(name, total=len(steps)) if progress else None
    r0, w0, ws0 = ReadStats.bytes_read, WriteStats.bytes_written, WriteStats.seconds
    for i, (sname, params, user) in enumerate(steps):
        if task is not None:
            progress.update(task, completed=i, description=f"{name}: {sname}")
        if sname in done:
            continue
        stage = get_stage(sname)
        inputs = make_inputs(stage, params)
        t = time.perf_counter()
        try:
            res = stage.run(context, name, inputs, user)
        except PipelineError as exc:
            context.results.append(StageRecord(index=i, stage=sname, ms=name, ok=False, error=str(exc),
                                               qa=[QAScore(value=0.0, short=f"{sname} failed: {exc}",
                                                           ms=name).model_dump()],
                                               seconds=time.perf_counter() - t))
            context.save()
            raise PipelineError(f"{name}: stage {i + 1} ({sname}) failed: {exc}") from None
        res.merge_into(context, i, time.perf_counter() - t)
        _record_io(context.ms[name], r0, w0, ws0)
        context.save()
        log.info("%s: %s done in %.2f s", name, sname, time.perf_counter() - t)
    if task is not None:
        progress.update(task, completed=len(steps))
    return context


def _record_io(st, r0: int, w0: int, ws0: float) -> None:
    io = st.io
    io.bytes_read = ReadStats.bytes_read - r0
    io.cube_pass_bytes = st.cube.bytes_read if st.cube else 0
    io.passes = io.bytes_read / io.cube_pass_bytes if io.cube_pass_bytes else 0.0
    io.bytes_written = WriteStats.bytes_written - w0
    io.write_seconds = WriteStats.seconds - ws0


def _run_one(args):
    ms_path, steps, outdir, resume, ctx_json = args
    ctx = Context.model_validate_json(ctx_json)
    ctx.part = os.path.basename(ms_path.rstrip("/"))
    try:
        run_ms(ms_path, steps, outdir, resume, ctx)
        return ctx.model_dump_json(), ""
    except PipelineError as exc:
        return ctx.model_dump_json(), str(exc)


def run_recipe(recipe: str, mses: list[str], outdir: str = "fluxpipe_out", overrides=None,
               resume: bool = False, parallel: int = 1, weblog: bool = True) -> Context:
    """Run `recipe` over `mses`; write OUTDIR/context.json, fluxes.json and (weblog) the weblog."""
    steps = load_recipe(recipe, overrides)
    for ms in mses:
        read_metadata(ms)   # fail early, before any stage runs, on a path that is not an MS
    os.makedirs(outdir, exist_ok=True)
    outdir = os.path.abspath(outdir)
    if resume and os.path.exists(os.path.join(outdir, "context.json")):
        ctx = Context.load(outdir)
    else:
        ctx = Context(outdir=outdir, recipe=recipe, version=__version__,
                      command=" ".join(sys.argv), started=time.time())
    errors = []
    if parallel > 1 and len(mses) > 1:
        base = ctx.model_dump_json()
        with ProcessPoolExecutor(max_workers=parallel) as pool:
            outs = list(pool.map(_run_one, [(m, steps, outdir, resume, base) for m in mses]))
        for js, err in outs:
            part = Context.model_validate_json(js)
            if os.path.exists(part.path):
                os.remove(part.path)
            ctx.ms.update(part.ms)
            ctx.results += [r for r in part.results if r not in ctx.results]
            if err:
                errors.append(err)
    else:
        progress = _progress()
        if progress:
            progress.start()
        try:
            for m in mses:
                try:
                    run_ms(m, steps, outdir, resume, ctx, progress)
                except PipelineError as exc:
                    errors.append(str(exc))
                    break
        finally:
            if progress:
                progress.stop()
    ctx.results.sort(key=lambda r: (list(ctx.ms).index(r.ms) if r.ms in ctx.ms else 0, r.index))
    ctx.finished = time.time()
    ctx.save()
    import json
    with open(os.path.join(outdir, "fluxes.json"), "w") as fh:
        json.dump(ctx.fluxes_json(), fh, indent=1)
    if weblog:
        from .weblog import render
        render(ctx)
    if errors:
        raise PipelineError("; ".join(errors) + f" (earlier results kept in {outdir}; fix and rerun with --resume)")
    return ctx
