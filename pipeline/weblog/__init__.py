"""The weblog: jinja2 templates from weblog_templates/, figures the stages describe from their
artefacts (drawn by figures.draw_all), relative links only. It renders any registry of stages and names none."""
from __future__ import annotations

import datetime as _dt
import logging
import os
import shutil

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..context import Context
from ..qa import RED, YELLOW, colour

log = logging.getLogger(__name__)


def templates_dir() -> str:
    """Installed package data first (fluxpipe.weblog_templates), then the source tree."""
    try:
        from importlib.resources import files
        p = str(files("fluxpipe.weblog_templates"))
        if os.path.exists(os.path.join(p, "base.html")):
            return p
    except (ModuleNotFoundError, TypeError):
        pass
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(here, "weblog_templates")


def _bytecode_cache():
    """Compiled templates kept in ~/.cache/fluxpipe (compiling them costs 0.1 s a run)."""
    from jinja2 import FileSystemBytecodeCache
    d = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "fluxpipe", "jinja")
    try:
        os.makedirs(d, exist_ok=True)
        return FileSystemBytecodeCache(d)
    except OSError:
        return None


def _fmt_time(t: float) -> str:
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if t else ""


def _mjd(t: float) -> str:
    d = _dt.datetime(1858, 11, 17, tzinfo=_dt.timezone.utc) + _dt.timedelta(seconds=t)
    return d.strftime("%Y-%m-%d %H:%M:%S")


def _worst_scores(rows: list[dict]) -> list[dict]:
    """Every QA score with its stage page, lowest first."""
    qs = [{**q.model_dump(), "stage": r["stage"], "ms": r["ms"], "href": r["href"], "colour": q.colour}
          for r in rows for q in r["rec"].qa]
    return sorted(qs, key=lambda q: q["value"])


def _banner(worst: list[dict]) -> dict | None:
    """Red when any score is red, else yellow when any is yellow (qa.RED, qa.YELLOW), else none."""
    for c, lim in (("red", RED), ("yellow", YELLOW)):
        n = sum(1 for w in worst if w["value"] <= lim)
        if n:
            return {"colour": c, "text": f"{n} QA score{'s' if n > 1 else ''} at or below {lim}: see below"}
    return None


def _qa_matrix(rows: list[dict], mses: list[str]) -> dict:
    """Stage x MS: each cell the stage's lowest score on that MS (colour, link); 'all' for
    stages over every MS."""
    cols = list(mses) + (["all"] if any(r["ms"] == "all" for r in rows) else [])
    stages = list(dict.fromkeys(r["stage"] for r in rows))
    cells = {(r["stage"], r["ms"]): r for r in rows}
    return {"cols": cols, "rows": [{"stage": s, "cells": [cells.get((s, m)) for m in cols]} for s in stages]}


def render(ctx: Context, stages: dict | None = None) -> str:
    """Write OUTDIR/weblog/index.html and one page per stage result; return the index path.
    stages: the registry (name -> Stage; default fluxpipe.stages.STAGES). Each stage brings its
    own page template (Stage.template), figures (Stage.plots), page data (Stage.page) and front-page
    section (Stage.front, Stage.front_template); this module names none of them. The figures of
    every page are drawn together at the end, in parallel (figures.draw_all)."""
    from ..stage import describe
    from .figures import draw_all
    if stages is None:
        from ..stages import STAGES as stages
    out = os.path.join(ctx.outdir, "weblog")
    os.makedirs(os.path.join(out, "stages"), exist_ok=True)
    env = Environment(loader=FileSystemLoader(templates_dir()), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined,      # a renamed field fails loudly, never a blank cell
                      bytecode_cache=_bytecode_cache())
    shutil.copy(os.path.join(templates_dir(), "style.css"), os.path.join(out, "style.css"))
    rows = []
    for n, r in enumerate(ctx.results, start=1):
        vals = [q.value for q in r.qa]
        score = min(vals) if vals else None
        worst = min(r.qa, key=lambda q: q.value).short if r.qa else r.error
        rows.append({"n": n, "stage": r.stage, "ms": r.ms, "seconds": r.seconds,
                     "href": f"stages/{n:02d}_{r.stage}_{r.ms}.html",
                     "colour": colour(score), "score_txt": f"{score:.2f}" if score is not None else "",
                     "msg": worst, "rec": r, "impl": stages.get(r.stage)})
    nav = [{"href": "index.html", "label": "index"}]
    mses = [{"name": k, "s": v.summary,
             "trange": f"{_mjd(v.summary['time_range'][0])} – {_mjd(v.summary['time_range'][1])} UTC"
             if v.summary.get("time_range") else ""} for k, v in ctx.ms.items()]
    warnings = [f"{k}: MODEL_DATA was being written when a run stopped; it is partly written. Rerun "
                f"with --resume to finish it." for k, v in ctx.ms.items() if v.model_data.startswith("writing")]
    worst = _worst_scores(rows)
    fronts, figs = [], []
    for name, stage in stages.items():     # in the registry's (the recipe's) order
        done = [(r["rec"], r["href"]) for r in rows if r["stage"] == name and r["rec"].ok]
        data = stage.front(ctx, done) if done else None
        if data is not None:
            figs += data.get("figures", [])
            fronts.append({"template": stage.front_template, "d": data})
    pages = []
    for row in rows:
        r, stage = row["rec"], row["impl"]
        st = ctx.ms.get(r.ms)
        base = os.path.splitext(os.path.basename(row["href"]))[0]
        ok = stage is not None and r.ok and (st is not None or r.ms == "all")
        plots = stage.plots(r, st, os.path.join(out, "stages"), base, ctx.abspath) if ok else []
        figs += plots
        pages.append((row, stage, st, ok, plots))
    drawn = draw_all(figs, out)
    for path, err in drawn["failed"].items():
        log.warning("weblog: figure %s could not be drawn: %s", os.path.relpath(path, out), err)

    def fig_html(f) -> dict:
        return {**f.html(), "error": drawn["failed"].get(f.path, "")}

    for x in fronts:
        x["d"] = {**x["d"], "figures": [fig_html(f) for f in x["d"].get("figures", [])]}
    idx = env.get_template("index.html").render(
        ctx=ctx, root="", nav=nav, mses=mses, stages=rows, warnings=warnings, start=_fmt_time(ctx.started),
        fronts=fronts, front_figures=[f for x in fronts for f in x["d"]["figures"]], worst=worst[:8],
        banner=_banner(worst), matrix=_qa_matrix(rows, list(ctx.ms)),
        end=_fmt_time(ctx.finished), duration=f"{ctx.finished - ctx.started:.1f} s" if ctx.finished else "",
        figures_note=f"{drawn['figures']} figures ({drawn['drawn']} drawn, {drawn['reused']} reused) in "
                     f"{drawn['seconds']:.1f} s")
    with open(os.path.join(out, "index.html"), "w") as fh:
        fh.write(idx)
    tpl = env.get_template("stage.html")
    for row, stage, st, ok, figures in pages:
        r, plots = row["rec"], [fig_html(f) for f in figures]
        rec = {**r.model_dump(), "n": row["n"], "qa": [{**q.model_dump(), "colour": q.colour} for q in r.qa],
               "summary": stage.summary_of(r) if ok else r.summary}     # typed: the stage's Summary
        groups = {}
        for p in plots:
            groups.setdefault(p["group"], []).append(p)
        html = tpl.render(ctx=ctx, root="../", nav=nav, r=rec, plots=plots, groups=groups,
                          description=stage.description if stage else "",
                          help={d["name"]: d for d in describe(stage)} if stage else {},
                          include=stage.template if ok else "", **(stage.page(r, st) if ok else {}))
        with open(os.path.join(out, row["href"]), "w") as fh:
            fh.write(html)
    return os.path.join(out, "index.html")
