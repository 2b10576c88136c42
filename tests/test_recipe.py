"""Recipes, overrides, per-MS defaults, resume, several MSes (serial and parallel), the CLI."""
import json
import os

import pytest
from clirun import cli

from fluxpipe import run_recipe
from fluxpipe.context import Context
from fluxpipe.errors import InputsError, PipelineError
from fluxpipe.recipe import load_recipe
from fluxpipe.sim import simulate


@pytest.fixture(scope="module")
def two_ms(tmp_path_factory):
    out = []
    for seed in (1, 2):
        d = tmp_path_factory.mktemp(f"ms{seed}")
        simulate(str(d / f"s{seed}.ms"), "small", seed=seed)
        out.append(str(d / f"s{seed}.ms"))
    return out


def test_recipe_parsing_and_override_errors():
    steps = load_recipe("gfluxscale", ["ampflag.amp_outlier_sigma=10", "fluxtransfer.refspwmap=[0,0]"])
    assert [s[0] for s in steps] == ["precal", "setmodel", "resolvedcal", "phaseup", "ampsolve", "ampflag",
                                     "fluxtransfer", "writeback", "crosseb"]
    assert steps[5][1]["amp_outlier_sigma"] == 10 and "amp_outlier_sigma" in steps[5][2]
    assert steps[6][1]["refspwmap"] == [0, 0]
    with pytest.raises(InputsError, match="has no parameter 'sigma'; valid: amp_outlier_sigma"):
        load_recipe("gfluxscale", ["ampflag.sigma=3"])
    with pytest.raises(InputsError, match="greater than 0"):
        load_recipe("gfluxscale", ["ampflag.amp_outlier_sigma=-1"])
    with pytest.raises(InputsError, match="stage 'ampsolvex' is not in the recipe"):
        load_recipe("gfluxscale", ["ampsolvex.solint=inf"])
    with pytest.raises(InputsError, match="stage.param=value"):
        load_recipe("gfluxscale", ["ampflag"])


def test_unknown_stage_in_recipe(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("stages:\n  - setmodel: {}\n  - fluxscalex: {}\n")
    with pytest.raises(InputsError, match="unknown stage 'fluxscalex'; valid stages: precal, setmodel"):
        load_recipe(str(p))


def test_defaults_overrides_and_resume(two_ms, tmp_path):
    ms = two_ms[0]
    out = str(tmp_path / "o")
    with pytest.raises(PipelineError, match="stage 7 \\(fluxtransfer\\) failed.*NoSuchField"):
        run_recipe("gfluxscale", [ms], out, ["fluxtransfer.transfer=NoSuchField"], weblog=False)
    ctx = Context.load(out)
    assert [r.stage for r in ctx.results if r.ok] == ["precal", "setmodel", "resolvedcal", "phaseup",
                                                      "ampsolve", "ampflag"]
    assert ctx.results[-1].ok is False and "NoSuchField" in ctx.results[-1].error
    ctx2 = run_recipe("gfluxscale", [ms], out, ["phaseup.minsnr=3"], resume=True, weblog=False)
    ok = [r for r in ctx2.results if r.ok]
    assert [r.stage for r in ok] == ["precal", "setmodel", "resolvedcal", "phaseup", "ampsolve", "ampflag",
                                     "fluxtransfer", "writeback"]   # earlier stages not rerun
    ft = next(r for r in ok if r.stage == "fluxtransfer")
    assert ft.inputs["transfer"] == {"value": "J0530+1331", "source": "heuristic"}
    sm = next(r for r in ok if r.stage == "setmodel")
    assert sm.inputs["reference"]["source"] == "heuristic" and sm.inputs["reference"]["value"] == "J0423-0120"
    # a fresh serial run gives the same numbers as the resumed one
    run_recipe("gfluxscale", [ms], str(tmp_path / "f"), weblog=False)
    a = json.load(open(os.path.join(out, "fluxes.json")))
    b = json.load(open(os.path.join(str(tmp_path / "f"), "fluxes.json")))
    assert a == b
    # user values win and are marked
    u = run_recipe("gfluxscale", [ms], str(tmp_path / "u"), ["setmodel.reference=J0423-0120",
                                                              "fluxtransfer.fitorder=0"], weblog=False)
    sm = next(r for r in u.results if r.stage == "setmodel")
    assert sm.inputs["reference"]["source"] == "user"
    assert u.ms["s1.ms"].fluxes["J0530+1331"].fit.spidx == 0.0


def test_two_ms_serial_equals_parallel(two_ms, tmp_path):
    s = run_recipe("gfluxscale", two_ms, str(tmp_path / "s"), weblog=False)
    p = run_recipe("gfluxscale", two_ms, str(tmp_path / "p"), parallel=2, weblog=False)
    assert set(s.ms) == set(p.ms) == {"s1.ms", "s2.ms"}
    fs = json.load(open(tmp_path / "s" / "fluxes.json"))
    fp = json.load(open(tmp_path / "p" / "fluxes.json"))
    assert fs == fp
    assert [(r.ms, r.stage) for r in s.results] == [(r.ms, r.stage) for r in p.results]
    assert not [f for f in os.listdir(tmp_path / "p") if f.startswith("context.") and f != "context.json"]
    # the fluxes.json schema documented in the README
    f = fs["s2.ms"]["J0530+1331"]
    assert f["role"] == "transfer" and set(f["spws"]["0"]) >= {"freq_hz", "flux_jy", "error_jy", "snr", "n"}
    assert set(f["fit"]) >= {"flux_jy", "error_jy", "reffreq_hz", "spidx", "spidx_err"}
    assert fs["s2.ms"]["J0423-0120"]["role"] == "reference"


def test_cli_error_paths(tmp_path, two_ms):
    r = cli("run", "gfluxscale", str(tmp_path / "nothere.ms"), "--out", str(tmp_path / "o"))
    assert r.returncode == 1 and "is not a MeasurementSet" in r.stderr and r.stderr.count("\n") == 1
    r = cli("run", "nosuchrecipe", two_ms[0])
    assert r.returncode == 1 and "recipe 'nosuchrecipe' not found" in r.stderr
    r = cli("run", "gfluxscale", two_ms[0], "--set", "phaseup.minsnr=abc", "--out", str(tmp_path / "o2"))
    assert r.returncode == 1 and "phaseup.minsnr" in r.stderr
    r = cli("inputs", "fluxtransfer")
    assert r.returncode == 0 and "refspwmap" in r.stdout and "gainthreshold" in r.stdout
    r = cli("bogus")
    assert r.returncode == 2


def test_demo_end_to_end(tmp_path):
    r = cli("demo", "--out", str(tmp_path / "demo"))
    assert r.returncode == 0, r.stderr
    fl = json.load(open(tmp_path / "demo" / "run" / "fluxes.json"))["demo_band3.ms"]
    truth = json.load(open(tmp_path / "demo" / "demo_band3.ms.truth.json"))
    for name, f in fl.items():
        if f["role"] != "transfer":
            continue
        for s, v in f["spws"].items():
            assert v["flux_jy"] == pytest.approx(truth["fields"][name]["flux_per_spw"][int(s)], rel=0.01)
    assert os.path.exists(tmp_path / "demo" / "run" / "weblog" / "index.html")
    assert "weblog:" in r.stdout
