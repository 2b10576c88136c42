"""matplotlib drawing of a figures.Figure to PNG: the Agg canvas directly (no pyplot, no
backend switch) and the style in an rc_context, so a notebook that draws fluxpipe's figures
in its own process keeps its matplotlib settings. Imported by the drawing processes
(figures.draw_all); editing this file redraws every figure on the next rendering (its bytes
are part of each figure's key)."""
from __future__ import annotations

import math

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure
from matplotlib.ticker import FuncFormatter, LogLocator

_STYLE = {
    "font.size": 8, "axes.titlesize": 8.5, "axes.labelsize": 8, "legend.fontsize": 7,
    "xtick.labelsize": 7, "ytick.labelsize": 7, "axes.grid": True, "grid.alpha": 0.3,
    "figure.dpi": 100, "savefig.dpi": 100, "path.simplify": True, "agg.path.chunksize": 20000,
}
_PLAIN = FuncFormatter(lambda v, _: f"{v:g}")
_MARK = {"o": ".", "x": "x", "s": "s", "^": "^", "d": "d"}


def _series(ax, s: dict) -> None:
    ls = "--" if s.get("dash") else "-"
    lab = s["label"] or None
    if s["kind"] == "points":
        if s["x"].size:
            m = _MARK.get(s["marker"], s["marker"])
            ax.plot(s["x"], s["y"], linestyle="none", marker=m, ms=s["size"] * (1.6 if m == "." else 0.9),
                    color=s["color"], label=lab, mew=0.8 if m == "x" else 0.0, alpha=0.85, rasterized=True)
    elif s["kind"] == "line":
        if s["x"].size:
            ax.plot(s["x"], s["y"], ls, color=s["color"], label=lab, lw=1.2)
    elif s["kind"] == "errorbar":
        if s["x"].size:
            ax.errorbar(s["x"], s["y"], yerr=s["e"], fmt=s["marker"], ms=3.5, color=s["color"], label=lab,
                        elinewidth=0.9, capsize=2)
    elif s["kind"] == "hline":
        ax.axhline(s["y"], color=s["color"], ls=ls, lw=1.1, label=lab)


def _panel(ax, p, small: bool) -> None:
    for s in p.series:
        _series(ax, s)
    for on, axis, scale in ((p.xlog, ax.xaxis, ax.set_xscale), (p.ylog, ax.yaxis, ax.set_yscale)):
        if on:          # log axes labelled in plain numbers (90, 100 GHz; 0.3, 1, 3 Jy)
            scale("log")
            axis.set_major_formatter(_PLAIN)
            axis.set_minor_locator(LogLocator(subs=(2.0, 3.0, 5.0)))
            axis.set_minor_formatter(_PLAIN)
    if small:       # small multiples: the title inside the panel, no per-panel labels
        ax.text(0.02, 0.95, p.title, transform=ax.transAxes, va="top", fontsize=7.5,
                bbox={"fc": "white", "ec": "none", "alpha": 0.7, "pad": 1})
    else:
        ax.set_title(p.title, loc="left")
        ax.set_xlabel(p.xlabel)
        ax.set_ylabel(p.ylabel)
        if any(s["label"] for s in p.series):
            if p.legend_out:
                ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, markerscale=1.5)
            else:
                ax.legend(loc="best", frameon=True, framealpha=0.8, markerscale=1.5)
    if p.note:
        ax.text(0.99 if small else 0.01, 0.03 if small else 0.97, p.note, transform=ax.transAxes,
                va="bottom" if small else "top", ha="right" if small else "left", fontsize=7,
                bbox={"fc": "#fff8e0", "ec": "#c8b070", "alpha": 0.9, "pad": 2})


def draw(fig) -> None:
    """Write fig.path: its panels on a grid of fig.ncols columns."""
    with matplotlib.rc_context(_STYLE):
        _draw(fig)


def _draw(fig) -> None:
    n = max(len(fig.panels), 1)
    ncols = max(1, min(fig.ncols, n))
    nrows = math.ceil(n / ncols)
    f = MplFigure(figsize=(fig.width_in, fig.panel_height_in * nrows + (0.5 if fig.share else 0)))
    FigureCanvasAgg(f)
    axes = f.subplots(nrows, ncols, squeeze=False, sharex=fig.share, sharey=fig.share).ravel()
    for ax, p in zip(axes, fig.panels):
        _panel(ax, p, fig.share)
    for ax in axes[len(fig.panels):]:
        ax.set_visible(False)
    if fig.share:
        p = fig.panels[0]
        f.supxlabel(p.xlabel, fontsize=8)
        f.supylabel(p.ylabel, fontsize=8)
        labels = {s["label"]: s for q in fig.panels for s in q.series if s["label"]}
        if labels:
            hs = [axes[0].plot([], [], ls="none" if s["kind"] == "points" else "-", marker=_MARK.get(
                s.get("marker", ""), None) if s["kind"] == "points" else None, color=s["color"])[0]
                for s in labels.values()]
            f.legend(hs, list(labels), loc="upper center", ncol=min(len(labels), 8), frameon=False)
        f.subplots_adjust(left=0.07, right=0.99, bottom=0.5 / f.get_figheight() + 0.02,
                          top=1 - 0.35 / f.get_figheight(), wspace=0.05, hspace=0.08)
        for ax in axes:
            ax.label_outer()
    else:           # margins in inches: the same look at every size
        w, h = f.get_figwidth(), f.get_figheight()
        right = 2.3 if any(p.legend_out for p in fig.panels) else 0.12
        f.subplots_adjust(left=0.62 / w, right=1 - right / w, bottom=0.45 / h, top=1 - 0.3 / h,
                          hspace=0.75 / fig.panel_height_in, wspace=0.75 / (w / ncols))
    f.savefig(fig.path, format="png")
