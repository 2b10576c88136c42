"""The weblog's figures as plain data, drawn by matplotlib in worker processes.

A stage's `plots` method describes its figures (`Figure`: panels of points, lines and error
bars; file name, alt text, caption) from its artefacts; `draw_all` draws every figure of a run in
a pool of processes forked from a server that imported matplotlib once (`warm_up`, called when a
run starts, so the import overlaps the computation). A figure whose description is unchanged
since the last drawing (same data, same drawing code: the key in OUTDIR/weblog/figures.json) is
reused, so `--resume` and `fluxpipe weblog` redraw only what changed. matplotlib is never
imported by the main process unless the pool cannot be used (then the figures are drawn in it).
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import pickle
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import numpy as np

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]
DRAW_MODULE = "fluxpipe.weblog.draw"


@dataclass
class Panel:
    """One set of axes: add series, as with matplotlib's Axes.plot / errorbar / axhline."""
    title: str
    xlabel: str
    ylabel: str
    series: list = field(default_factory=list)
    xlog: bool = False
    ylog: bool = False
    note: str = ""               # a text box in the upper-left corner (a metric, a name)
    legend_out: bool = False     # the legend right of the axes (many entries)

    def points(self, x, y, color: str, label: str = "", size: float = 3.0, marker: str = "o"):
        self.series.append({"kind": "points", "x": np.asarray(x, float), "y": np.asarray(y, float),
                            "color": color, "label": label, "size": size, "marker": marker})
        return self

    def line(self, x, y, color: str, label: str = "", dash: bool = False):
        self.series.append({"kind": "line", "x": np.asarray(x, float), "y": np.asarray(y, float),
                            "color": color, "label": label, "dash": dash})
        return self

    def errorbar(self, x, y, yerr, color: str, label: str = "", marker: str = "o"):
        self.series.append({"kind": "errorbar", "x": np.asarray(x, float), "y": np.asarray(y, float),
                            "e": np.asarray(yerr, float), "color": color, "label": label, "marker": marker})
        return self

    def hline(self, y: float, color: str, label: str = "", dash: bool = False):
        self.series.append({"kind": "hline", "y": float(y), "color": color, "label": label, "dash": dash})
        return self


@dataclass
class Figure:
    """A PNG of one or more panels: `path` where it is written, `src` its link from the page."""
    src: str
    path: str
    alt: str
    caption: str
    panels: list[Panel]
    ncols: int = 1
    width_in: float = 6.4        # inches at 100 dpi
    panel_height_in: float = 3.0
    share: bool = False          # small multiples: shared axes, labels on the outer panels only
    group: str = ""              # the page's heading over a run of figures

    def html(self) -> dict:
        return {"src": self.src, "alt": self.alt, "caption": self.caption, "group": self.group}

    def key(self, code: bytes) -> str:
        spec = (self.panels, self.ncols, self.width_in, self.panel_height_in, self.share)
        return hashlib.sha256(code + pickle.dumps(spec, protocol=4)).hexdigest()


def figure(outdir: str, name: str, alt: str, caption: str, panels: list[Panel], **kw) -> Figure:
    return Figure(src=name, path=os.path.join(outdir, name), alt=alt, caption=caption, panels=panels, **kw)


def warm_up() -> None:
    """Start the forkserver that preloads matplotlib (in the background: this returns at once)."""
    if "forkserver" not in mp.get_all_start_methods():
        return
    try:
        mp.set_forkserver_preload([DRAW_MODULE])
        from multiprocessing import forkserver
        forkserver.ensure_running()
    except (OSError, ValueError):      # no processes here: draw_all falls back to drawing in-process
        pass


def _draw_one(fig: Figure) -> str | None:
    """Draw one figure; a failure is returned as text (the page says so), never raised: a
    figure that cannot be drawn must not cost the run its weblog."""
    from .draw import draw
    try:
        draw(fig)
        return None
    except Exception as exc:        # noqa: BLE001 - reported on the page and in the log
        try:
            os.remove(fig.path)
        except OSError:
            pass
        return f"{type(exc).__name__}: {exc}"


def _code() -> bytes:
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "draw.py"), "rb") as fh:
        return fh.read()


def draw_all(figs: list[Figure], root: str, workers: int | None = None) -> dict:
    """Draw `figs` (their paths under `root`, the weblog folder), reusing unchanged ones; remove
    figures of an earlier rendering that no page shows any more. Returns counts and seconds.
    workers: processes (default: FLUXPIPE_PLOT_WORKERS, else the cores); 0 = in this process."""
    t0 = time.perf_counter()
    manifest_path = os.path.join(root, "figures.json")
    try:
        with open(manifest_path) as fh:
            old = json.load(fh)
    except (OSError, ValueError):
        old = {}
    code = _code()
    new, todo, same = {}, [], {}
    for f in figs:
        rel = os.path.relpath(f.path, root)
        new[rel] = f.key(code)
        if old.get(rel) != new[rel] or not os.path.exists(f.path):
            if new[rel] in same:            # the same picture twice (one table's gains on two
                same[new[rel]].append(f)    # pages): drawn once, copied
            else:
                same[new[rel]] = []
                todo.append(f)
    for rel in set(old) - set(new):       # only our own PNGs inside the weblog folder
        path = os.path.realpath(os.path.join(root, rel))
        if path.endswith(".png") and path.startswith(os.path.realpath(root) + os.sep):
            try:
                os.remove(path)
            except OSError:
                pass
    if workers is None:
        workers = int(os.environ.get("FLUXPIPE_PLOT_WORKERS", os.cpu_count() or 1))
    workers = min(workers, len(todo))
    # the manifest goes first without the figures about to be drawn: an interrupted drawing
    # leaves them to be drawn again, never a stale picture under a matching key
    _write(manifest_path, {k: v for k, v in new.items() if k in old and old[k] == v})
    todo.sort(key=lambda f: -sum(len(s.get("x", ())) for p in f.panels for s in p.series) - 500 * len(f.panels))
    if workers >= 1 and "forkserver" in mp.get_all_start_methods():
        try:
            warm_up()
            with ProcessPoolExecutor(workers, mp_context=mp.get_context("forkserver")) as pool:
                errors = list(pool.map(_draw_one, todo))
        except (OSError, BrokenProcessPool, NotImplementedError, ImportError):  # no pool here, or a worker died
            errors = [_draw_one(f) for f in todo]
    else:
        errors = [_draw_one(f) for f in todo]
    failed = {}
    for f, err in zip(todo, errors):
        for g in [f] + same[new[os.path.relpath(f.path, root)]]:
            if err:
                failed[g.path] = err
                new.pop(os.path.relpath(g.path, root), None)
            elif g is not f:
                shutil.copyfile(f.path, g.path)
    _write(manifest_path, new)
    return {"figures": len(figs), "drawn": len(todo), "reused": len(figs) - len(todo), "failed": failed,
            "seconds": time.perf_counter() - t0}


def _write(path: str, data: dict) -> None:
    with open(path, "w") as fh:
        json.dump(data, fh, indent=0, sort_keys=True)
