"""The weblog's figures: drawn by matplotlib in worker processes, reused when unchanged."""
import json
import os

import numpy as np
import pytest

from fluxpipe.weblog.figures import Panel, draw_all, figure

PNG = b"\x89PNG\r\n\x1a\n"


def _figs(d, y0=1.0):
    a = Panel("a", "x", "y").points([0, 1, 2], [y0, 2, 3], "#ff0000", "red points", size=8)
    b = Panel("b", "x", "y", xlog=True, ylog=True).errorbar([1, 10, 100], [3, 2, 1], [0.1, 0.1, 0.1], "#0000ff", "blue")
    c = [Panel(f"ant{k}", "t", "g").points(np.arange(5), np.ones(5) * k, "#00aa00") for k in range(7)]
    return [figure(d, "a.png", "alt a", "cap a", [a]),
            figure(d, "b.png", "alt b", "cap b", [b], width_in=4.0, panel_height_in=2.0),
            figure(d, "c.png", "alt c", "cap c", c, ncols=4, width_in=8.0, panel_height_in=1.2, share=True)]


def _rgb(path):
    import matplotlib.image
    return matplotlib.image.imread(path)[..., :3]


@pytest.mark.parametrize("workers", [0, 2])
def test_drawn_reused_redrawn_removed(tmp_path, workers):
    d = str(tmp_path)
    figs = _figs(d)
    r = draw_all(figs, d, workers=workers)
    assert r["drawn"] == 3 and r["reused"] == 0
    for f in figs:
        assert open(f.path, "rb").read(8) == PNG
    img = _rgb(figs[1].path)
    assert img.shape[:2] == (200, 400)                       # 4 x 2 inches at 100 dpi
    assert _rgb(figs[2].path).shape[:2] == (int(100 * (2 * 1.2 + 0.5)), 800)   # 2 rows of small multiples
    red = _rgb(figs[0].path)
    assert ((red[..., 0] > 0.9) & (red[..., 1] < 0.2) & (red[..., 2] < 0.2)).sum() > 20   # the points are drawn
    mtimes = {f.path: os.stat(f.path).st_mtime_ns for f in figs}
    # unchanged: nothing drawn, files untouched
    r = draw_all(_figs(d), d, workers=workers)
    assert r["drawn"] == 0 and r["reused"] == 3
    assert all(os.stat(p).st_mtime_ns == t for p, t in mtimes.items())
    # one point moved: that figure alone is drawn again
    r = draw_all(_figs(d, y0=1.5), d, workers=workers)
    assert r["drawn"] == 1
    assert os.stat(figs[0].path).st_mtime_ns != mtimes[figs[0].path]
    assert os.stat(figs[1].path).st_mtime_ns == mtimes[figs[1].path]
    # a figure no page shows any more is removed, and a deleted file is drawn again
    os.remove(figs[1].path)
    r = draw_all(_figs(d, y0=1.5)[:2], d, workers=workers)
    assert r["drawn"] == 1 and not os.path.exists(figs[2].path) and os.path.exists(figs[1].path)
    assert set(json.load(open(os.path.join(d, "figures.json")))) == {"a.png", "b.png"}


def test_identical_figures_drawn_once(tmp_path):
    d = str(tmp_path)
    p = Panel("same", "x", "y").points([0, 1], [0, 1], "#000000")
    figs = [figure(d, "one.png", "1", "1", [p]), figure(d, "two.png", "2", "2", [p])]
    r = draw_all(figs, d, workers=0)
    assert r["drawn"] == 1 and open(figs[0].path, "rb").read() == open(figs[1].path, "rb").read()


def test_resume_reuses_the_figures(tmp_path):
    """A finished run resumed: every figure reused (same bytes, same mtime); the weblog complete."""
    from fluxpipe import run_recipe
    from fluxpipe.sim import simulate
    ms = str(tmp_path / "s.ms")
    simulate(ms, "small", seed=3)
    out = str(tmp_path / "o")
    run_recipe("gfluxscale", [ms], out)
    web = os.path.join(out, "weblog")
    manifest = json.load(open(os.path.join(web, "figures.json")))
    assert len(manifest) >= 9 and "overview.png" in manifest
    before = {k: os.stat(os.path.join(web, k)).st_mtime_ns for k in manifest}
    run_recipe("gfluxscale", [ms], out, resume=True)
    assert json.load(open(os.path.join(web, "figures.json"))) == manifest
    assert {k: os.stat(os.path.join(web, k)).st_mtime_ns for k in manifest} == before
    html = open(os.path.join(web, "index.html")).read()
    assert f"{len(manifest)} figures (0 drawn, {len(manifest)} reused)" in html


@pytest.mark.parametrize("workers", [0, 2])
def test_a_figure_that_cannot_be_drawn_is_reported(tmp_path, workers):
    """Error bars of another length than their points: that figure is reported (and drawn again
    next time), the others are drawn."""
    d = str(tmp_path)
    bad = Panel("bad", "x", "y").errorbar([1, 2, 3], [1, 2, 3], [0.1, 0.2], "#000000")
    figs = _figs(d)[:1] + [figure(d, "bad.png", "bad", "bad", [bad])]
    r = draw_all(figs, d, workers=workers)
    assert list(r["failed"]) == [figs[1].path] and "ValueError" in r["failed"][figs[1].path]
    assert os.path.exists(figs[0].path) and not os.path.exists(figs[1].path)
    assert set(json.load(open(os.path.join(d, "figures.json")))) == {"a.png"}
