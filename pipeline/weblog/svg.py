"""Small, dependency-free SVG plots for the weblog (scatter, lines, error bars, legend).

Why not matplotlib: importing and rendering it cost more than the whole flux computation of a
band-3 EB. These plots are plain SVG files (a few tens of kB, offline, crisp at any zoom);
points are drawn as zero-length path segments with round caps, so 20 000 points stay small.
"""
from __future__ import annotations

import math
from html import escape

import numpy as np

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About n round tick values covering [lo, hi]."""
    if not np.isfinite(lo) or not np.isfinite(hi):
        return [0.0]
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + k * step, 12) for k in range(int((hi - first) / step + 1e-9) + 1)]


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e5 or a < 1e-3:
        return f"{v:.2g}"
    return f"{v:.6g}"


class Plot:
    """One panel: add series, then `save(path)`."""

    def __init__(self, title: str, xlabel: str, ylabel: str, width: int = 640, height: int = 320):
        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel
        self.w, self.h = width, height
        self.series: list[dict] = []

    def points(self, x, y, color: str, label: str = "", size: float = 3.0, marker: str = "dot"):
        self.series.append({"kind": marker, "x": np.asarray(x, float), "y": np.asarray(y, float),
                            "color": color, "label": label, "size": size})
        return self

    def line(self, x, y, color: str, label: str = "", dash: bool = False):
        self.series.append({"kind": "line", "x": np.asarray(x, float), "y": np.asarray(y, float),
                            "color": color, "label": label, "dash": dash})
        return self

    def errorbar(self, x, y, yerr, color: str, label: str = ""):
        self.series.append({"kind": "err", "x": np.asarray(x, float), "y": np.asarray(y, float),
                            "e": np.asarray(yerr, float), "color": color, "label": label})
        return self

    def _ranges(self):
        xs = [s["x"] for s in self.series if s["x"].size]
        ys = [s["y"] for s in self.series if s["y"].size]
        ys += [s["y"] + s["e"] for s in self.series if s["kind"] == "err" and s["y"].size]
        ys += [s["y"] - s["e"] for s in self.series if s["kind"] == "err" and s["y"].size]
        fin = lambda v: v[np.isfinite(v)]  # noqa: E731
        x = fin(np.concatenate(xs)) if xs else np.zeros(0)
        y = fin(np.concatenate(ys)) if ys else np.zeros(0)
        x0, x1 = (float(x.min()), float(x.max())) if x.size else (0.0, 1.0)
        y0, y1 = (float(y.min()), float(y.max())) if y.size else (0.0, 1.0)
        px, py = (x1 - x0) * 0.03 or 0.5, (y1 - y0) * 0.06 or max(abs(y0) * 0.05, 0.5)
        return x0 - px, x1 + px, y0 - py, y1 + py

    def render(self) -> str:
        L, R, T, B = 70, 15, 28, 44
        W, H = self.w - L - R, self.h - T - B
        x0, x1, y0, y1 = self._ranges()
        sx = lambda v: L + (v - x0) / (x1 - x0) * W  # noqa: E731
        sy = lambda v: T + H - (v - y0) / (y1 - y0) * H  # noqa: E731
        o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w}" height="{self.h}" '
             f'viewBox="0 0 {self.w} {self.h}" font-family="sans-serif" font-size="11">',
             f'<rect width="{self.w}" height="{self.h}" fill="white"/>',
             f'<text x="{self.w / 2}" y="16" text-anchor="middle" font-size="12">{escape(self.title)}</text>']
        for t in nice_ticks(x0, x1):
            if x0 <= t <= x1:
                X = sx(t)
                o.append(f'<line x1="{X:.1f}" y1="{T}" x2="{X:.1f}" y2="{T + H}" stroke="#eee"/>'
                         f'<text x="{X:.1f}" y="{T + H + 14}" text-anchor="middle">{_fmt(t)}</text>')
        for t in nice_ticks(y0, y1):
            if y0 <= t <= y1:
                Y = sy(t)
                o.append(f'<line x1="{L}" y1="{Y:.1f}" x2="{L + W}" y2="{Y:.1f}" stroke="#eee"/>'
                         f'<text x="{L - 4}" y="{Y + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
        o.append(f'<rect x="{L}" y="{T}" width="{W}" height="{H}" fill="none" stroke="#333"/>')
        o.append(f'<text x="{L + W / 2}" y="{self.h - 8}" text-anchor="middle">{escape(self.xlabel)}</text>')
        o.append(f'<text transform="translate(14,{T + H / 2}) rotate(-90)" text-anchor="middle">'
                 f'{escape(self.ylabel)}</text>')
        for s in self.series:
            ok = np.isfinite(s["x"]) & np.isfinite(s["y"])
            X, Y = sx(s["x"][ok]), sy(s["y"][ok])
            if s["kind"] == "dot" and X.size:
                d = "".join(f"M{a:.1f} {b:.1f}h0" for a, b in zip(X, Y))
                o.append(f'<path d="{d}" stroke="{s["color"]}" stroke-width="{s["size"]}" '
                         f'stroke-linecap="round" fill="none"/>')
            elif s["kind"] == "x" and X.size:
                r = s["size"]
                d = "".join(f"M{a - r:.1f} {b - r:.1f}l{2 * r} {2 * r}m0 {-2 * r}l{-2 * r} {2 * r}"
                            for a, b in zip(X, Y))
                o.append(f'<path d="{d}" stroke="{s["color"]}" stroke-width="1.5" fill="none"/>')
            elif s["kind"] == "line" and X.size:
                pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(X, Y))
                dash = ' stroke-dasharray="5,3"' if s.get("dash") else ""
                o.append(f'<polyline points="{pts}" stroke="{s["color"]}" stroke-width="1.5" fill="none"{dash}/>')
            elif s["kind"] == "err":
                e = s["e"][ok]
                for a, b, err, yv in zip(X, Y, e, s["y"][ok]):
                    lo, hi = sy(yv - err), sy(yv + err)
                    o.append(f'<line x1="{a:.1f}" y1="{lo:.1f}" x2="{a:.1f}" y2="{hi:.1f}" stroke="{s["color"]}"/>'
                             f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{s["color"]}"/>')
        labelled = [s for s in self.series if s["label"]]
        for k, s in enumerate(labelled):
            ly = T + 12 + 14 * k
            o.append(f'<rect x="{L + W - 170}" y="{ly - 9}" width="10" height="10" fill="{s["color"]}"/>'
                     f'<text x="{L + W - 156}" y="{ly}">{escape(s["label"])}</text>')
        o.append("</svg>")
        return "\n".join(o)

    def save(self, path: str) -> None:
        with open(path, "w") as fh:
            fh.write(self.render())
