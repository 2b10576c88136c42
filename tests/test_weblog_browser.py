"""The demo weblog in a real browser (Debian's headless Chromium driven by Playwright)."""
import functools
import http.server
import json
import os
import re
import shutil
import tempfile
import threading
from urllib.parse import urljoin, urlparse

import pytest
from clirun import cli

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# screenshots for a person to look at: FLUXPIPE_SCREENSHOTS, else the system's temporary folder
# (never the source tree)
ARTIFACTS = os.environ.get("FLUXPIPE_SCREENSHOTS") or os.path.join(tempfile.gettempdir(), "fluxpipe-screenshots")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    assert os.path.exists(CHROMIUM), "Debian's chromium is required (the README's test command installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def http_root(demo_run):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(demo_run / "weblog"))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()


def crawl(browser, start: str, check_link) -> dict:
    """Open every page reachable from `start`; assert no console errors, images loaded."""
    page = browser.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    seen, todo, pages = set(), [start], {}
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        resp = page.goto(url)
        assert resp is None or resp.ok, url
        imgs = page.eval_on_selector_all("img", "els => els.map(e => [e.src, e.complete && e.naturalWidth, e.alt])")
        for src, width, alt in imgs:
            assert width and width > 0, f"image not loaded: {src} on {url}"
            assert alt, f"image without alt text: {src}"
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        for h in hrefs:
            assert not urlparse(h).scheme, f"non-relative link {h} on {url}"
            target = urljoin(url, h)
            check_link(target)
            if target.endswith(".html"):
                todo.append(target)
        pages[url] = page.content()
    assert errors == [], errors
    page.close()
    return pages


def top(page, selector: str) -> float:
    """The page y of an element's top edge."""
    return page.eval_on_selector(selector, "e => e.getBoundingClientRect().top + window.scrollY")


def assert_flux_table(page, rows_selector: str, fluxes: dict) -> None:
    """The page's 12 flux rows (data-field, data-spw, .flux-value, .flux-error) equal fluxes.json."""
    rows = page.eval_on_selector_all(rows_selector, "els => els.map(e => [e.dataset.field, e.dataset.spw, "
                                     "e.querySelector('.flux-value').textContent, e.querySelector('.flux-error').textContent])")
    assert len(rows) == 12
    for field, spw, val, err in rows:
        want = fluxes[field]["spws"][spw]
        assert float(val) == pytest.approx(want["flux_jy"], abs=5e-7)
        assert float(err) == pytest.approx(want["error_jy"], abs=5e-7)


def test_weblog_from_file_url(browser, demo_run):
    start = (demo_run / "weblog" / "index.html").as_uri()

    def exists(u):
        assert os.path.exists(urlparse(u).path), f"broken link {u}"
    pages = crawl(browser, start, exists)
    stage_pages = [u for u in pages if "/stages/" in u]
    assert len(stage_pages) == 8      # precal, setmodel, ..., writeback
    assert any("fluxtransfer" in u for u in stage_pages)
    ft = pages[next(u for u in stage_pages if "fluxtransfer" in u)]
    for plot in ("_flux.png", "_amptime.png", "_ampuv.png", "_antennas.png"):
        assert plot in ft, plot
    assert "_ampuv.png" in pages[next(u for u in stage_pages if "resolvedcal" in u)]
    for stage in ("ampsolve", "ampflag"):         # the per-antenna small multiples
        assert "_amp_antennas.png" in pages[next(u for u in stage_pages if stage in u)], stage
    # the flux table equals fluxes.json
    fluxes = json.load(open(demo_run / "fluxes.json"))["demo_band3.ms"]
    page = browser.new_page()
    url = next(u for u in stage_pages if "fluxtransfer" in u)
    page.goto(url)
    assert_flux_table(page, "tr.flux", fluxes)
    # the page leads with its pictures; the 300-row per-antenna table and the inputs are collapsed
    # (each behind a summary naming the outliers), so the page is short at a desktop width
    page.set_viewport_size({"width": 1400, "height": 900})
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 4000, height
    assert top(page, "main img") < top(page, "#fluxtable") < top(page, "#antennas-details")
    assert page.eval_on_selector("main img", "e => e.getAttribute('src')").endswith("_flux.png")
    for d in ("#antennas-details", "#inputs-details"):
        assert page.eval_on_selector(d, "e => e.open") is False, d
    assert not page.is_visible("#antennas")
    assert "Outliers: none" in page.text_content("#antenna-summary")
    # a note is written once (per spw), not in every row
    notes = page.eval_on_selector_all("#fluxnotes li", "els => els.length")
    marks = page.eval_on_selector_all("tr.flux sup", "els => els.length")
    assert marks == 12 and 1 <= notes <= 4
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, "weblog_fluxtransfer.png"), full_page=True)
    page.goto(start)
    page.screenshot(path=os.path.join(ARTIFACTS, "weblog_index.png"), full_page=True)
    # the front page leads with the overview picture, then the QA matrix; its flux table equals
    # fluxes.json too
    assert_flux_table(page, "tr.frontflux", fluxes)
    assert page.query_selector("#worstqa") is not None
    first = page.eval_on_selector("main img", "e => e.getAttribute('src')")
    assert first == "overview.png"
    assert top(page, "#overview img") < top(page, "#frontfluxes") and top(page, "#overview img") < top(page, "#worstqa")
    matrix = page.eval_on_selector_all("#qa-matrix td[class*='qa-'] a", "els => els.map(e => e.getAttribute('href'))")
    assert len(matrix) == 8 and all(h.startswith("stages/") for h in matrix)
    model = page.eval_on_selector("#frontmodel tr:nth-child(2)", "e => e.textContent")
    assert "J0423-0120" in model and "point source" in model
    # QA colours on the index
    cells = page.eval_on_selector_all("#stages td[class*='qa-']", "els => els.map(e => e.className)")
    assert len(cells) == 8 and all(re.search("qa-(green|blue|yellow|red)", c) for c in cells)
    page.close()


def test_weblog_from_http_server(browser, http_root):
    import urllib.request

    def ok(u):
        with urllib.request.urlopen(u) as r:
            assert r.status == 200, u
    pages = crawl(browser, http_root + "index.html", ok)
    assert len(pages) == 9            # index + 8 stage pages


def test_failed_stage_page_renders(browser, tmp_path):
    from fluxpipe import run_recipe
    from fluxpipe.errors import PipelineError
    from fluxpipe.sim import simulate
    ms = str(tmp_path / "f.ms")
    simulate(ms, "small", seed=4)
    with pytest.raises(PipelineError):
        run_recipe("gfluxscale", [ms], str(tmp_path / "out"), ["fluxtransfer.transfer=NoSuchField"])
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    stages = sorted(os.listdir(tmp_path / "out" / "weblog" / "stages"))
    failed = [s for s in stages if "fluxtransfer" in s and s.endswith(".html")]
    assert failed
    page.goto((tmp_path / "out" / "weblog" / "stages" / failed[0]).as_uri())
    assert "This stage failed" in page.content() and "NoSuchField" in page.content()
    page.goto((tmp_path / "out" / "weblog" / "index.html").as_uri())
    assert "qa-red" in page.content()
    assert errors == []
    page.close()


def test_weblog_command_rerenders(demo_run, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(demo_run, out, ignore=shutil.ignore_patterns("weblog"))
    ctx = json.load(open(out / "context.json"))
    ctx["outdir"] = str(out)
    json.dump(ctx, open(out / "context.json", "w"))
    r = cli("weblog", str(out))
    assert r.returncode == 0, r.stderr
    html = open(out / "weblog" / "index.html").read()
    assert "fluxtransfer" in html and len(os.listdir(out / "weblog" / "stages")) > 7


def test_several_ebs_weblog(browser, tmp_path):
    """Three EBs: every page (with the crosseb page and its plot) loads in Chromium without errors;
    the crosseb table equals crosseb.json; the fluxtransfer pages carry the per-antenna plots."""
    from fluxpipe import run_recipe
    from fluxpipe.sim import simulate
    mses = []
    for seed in (1, 2, 3):
        ms = str(tmp_path / f"e{seed}" / f"e{seed}.ms")
        simulate(ms, "small", seed=seed)
        mses.append(ms)
    run_recipe("gfluxscale", mses, str(tmp_path / "out"))
    start = (tmp_path / "out" / "weblog" / "index.html").as_uri()

    def exists(u):
        assert os.path.exists(urlparse(u).path), f"broken link {u}"
    pages = crawl(browser, start, exists)
    cross = [u for u in pages if "crosseb" in u]
    assert len(cross) == 1 and len([u for u in pages if "/stages/" in u]) == 3 * 8 + 1
    html = pages[cross[0]]
    assert "_crosseb_all_field0.png" in html
    res = json.load(open(tmp_path / "out" / "crosseb.json"))["fields"]["J0530+1331"]
    page = browser.new_page()
    page.goto(cross[0])
    cells = page.eval_on_selector_all("table.crosseb tr td:nth-child(4)", "els => els.map(e => e.textContent)")
    assert [float(c) for c in cells] == pytest.approx([r["flux_jy"] for r in res["rows"]], abs=5e-7)
    page.close()
    ft = [u for u in pages if "fluxtransfer" in u]
    assert len(ft) == 3 and all("_antennas.png" in pages[u] for u in ft)
    # the front page's across-EBs row equals crosseb.json
    page = browser.new_page()
    page.goto(start)
    row = page.eval_on_selector_all("tr.frontcross", "els => els.map(e => [e.dataset.field, "
                                    "e.children[2].textContent, e.children[3].textContent])")
    assert row == [["J0530+1331", f"{res['chi2']:.1f} / {res['dof']}", f"{res['p']:.2g}"]]
    page.close()
