"""Across EBs: a calibrator's flux per EB, the variability chi2 and QA, the
joint spectral fit. Three simulated EBs (different seeds) of one source; in the variable case
the test itself multiplies one EB's visibilities of that source by 1.05 (casacore, not the
pipeline), so its flux there is 5 % higher."""
import json
import os

import numpy as np
import pytest
from casacore.tables import table

from fluxpipe import run_recipe
from fluxpipe.sim import simulate

FIELD = "J0530+1331"


@pytest.fixture(scope="module")
def three_ebs(tmp_path_factory):
    d = tmp_path_factory.mktemp("xeb")
    mses, truth = [], []
    for seed in (1, 2, 3):
        ms = str(d / f"eb{seed}" / f"eb{seed}.ms")
        truth.append(simulate(ms, "small", seed=seed))
        mses.append(ms)
    return d, mses, truth


def _chi2(fl: dict, field: str, key: str) -> tuple[float, int]:
    """The test's own chi2: per spw, the fluxes of all EBs about their weighted mean."""
    per = {}
    for fields in fl.values():
        for s, v in fields[field]["spws"].items():
            per.setdefault(s, []).append((v["flux_jy"], v[key]))
    c, dof = 0.0, 0
    for vals in per.values():
        f, e = np.array(vals).T
        w = 1 / e ** 2
        c += float(np.sum(w * (f - np.sum(w * f) / np.sum(w)) ** 2))
        dof += len(f) - 1
    return c, dof


def test_consistent_ebs(three_ebs):
    d, mses, truth = three_ebs
    ctx = run_recipe("gfluxscale", mses, str(d / "ok"), weblog=False)
    cross = json.load(open(d / "ok" / "crosseb.json"))
    fl = json.load(open(d / "ok" / "fluxes.json"))
    res = cross["fields"][FIELD]
    assert cross["errors"] == "data" and res["ebs"] == ["eb1.ms", "eb2.ms", "eb3.ms"]
    c, dof = _chi2(fl, FIELD, "error_jy")
    assert res["chi2"] == pytest.approx(c, rel=1e-9) and res["dof"] == dof == 4
    assert res["p"] > 1e-3 and res["score"] == 1.0          # the same source: consistent
    rec = next(r for r in ctx.results if r.stage == "crosseb")
    assert rec.ms == "all" and rec.qa[0].value == 1.0 and "consistent" in rec.qa[0].short
    # the joint fit over the EBs recovers the true spectrum at its reference frequency
    t = truth[0]["fields"][FIELD]
    fit = res["fit"]
    ref = t["flux_jy"] * (fit["reffreq_hz"] / t["reffreq_hz"]) ** t["spix"]
    assert fit["flux_jy"] == pytest.approx(ref, abs=4 * fit["error_jy"] + 1e-3 * ref)


def test_variable_source_is_red(three_ebs):
    d, mses, truth = three_ebs
    import shutil
    var = str(d / "var" / "eb3.ms")
    shutil.copytree(mses[2], var)
    shutil.copy(os.path.join(os.path.dirname(mses[2]), "flux.csv"), d / "var")   # the EB's catalogue
    with table(var, readonly=False, ack=False) as t:
        fid = [i for i, n in enumerate(table(var + "/FIELD", ack=False).getcol("NAME")) if n == FIELD][0]
        sel = t.query(f"FIELD_ID=={fid}")
        sel.putcol("DATA", sel.getcol("DATA") * 1.05)
        sel.close()
    run_recipe("gfluxscale", mses[:2] + [var], str(d / "bad"), weblog=False)
    res = json.load(open(d / "bad" / "crosseb.json"))["fields"][FIELD]
    fl = json.load(open(d / "bad" / "fluxes.json"))
    ratio = fl["eb3.ms"][FIELD]["spws"]["0"]["flux_jy"] / fl["eb1.ms"][FIELD]["spws"]["0"]["flux_jy"]
    assert ratio == pytest.approx(1.05, abs=0.01)
    assert res["p"] < 1e-4 and res["score"] == 0.33
    c, dof = _chi2(fl, FIELD, "error_jy")
    assert res["chi2"] == pytest.approx(c, rel=1e-9)


def test_single_ms_records_nothing(three_ebs, tmp_path):
    d, mses, truth = three_ebs
    ctx = run_recipe("gfluxscale", mses[:1], str(tmp_path / "one"), weblog=False)
    assert not [r for r in ctx.results if r.stage == "crosseb"]
    assert not os.path.exists(tmp_path / "one" / "crosseb.json")
