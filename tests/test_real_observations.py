"""Real observations: data without intents, solar-system references, science spws
and channel selections, flagged spws and fields, degenerate field lists, gross-error QA."""
import json
import os
import re

import numpy as np
import pytest
from casacore.tables import table

from fluxpipe import run_recipe
from fluxpipe.errors import PipelineError
from fluxpipe.sim import simulate

# CASA 6.7.0.31 on NGC5921 with fluxpipe's default solve parameters (refant 15, minsnr 2,
# minblperant 4; benchmarks/casa_oracle/ngc5921_spw.py)
CASA_1445_ALL = 2.5265708300171164
CASA_1445_CH5_58 = 2.5273169919067158
# fluxpipe's joint estimator (regression value). 2.510428281188727 until the issue-22 rejection
# rules (never more than a fifth of the solutions or half of a field's, leverage-corrected MAD):
# +0.045 %, towards CASA's 2.52657; 2.5115688012323134 until the outlier scatter was measured per
# field (a faint field's ordinary residuals were called outliers): +0.098 %; the noise-bias
# corrections (ampsolve.debias) add 1.2e-6
JOINT_1445_ALL = 2.514032007074565


def errors(st, truth):
    return np.array([v.flux_jy / truth["fields"][n]["flux_per_spw"][int(s)] - 1
                     for n, f in st.fluxes.items() for s, v in f.spws.items()])


def qa_of(ctx, stage):
    return [q for r in ctx.results if r.stage == stage for q in r.qa]


def _drift_from_table(path, field, ref_field):
    """Per antenna and polarisation with >= 4 solutions of `field`: the slope of ln|g| in time
    (per hour) and ln|g| extrapolated to the reference's first scan minus its mean."""
    t = table(path, ack=False)
    fid, tm, ant = t.getcol("FIELD_ID"), t.getcol("TIME"), t.getcol("ANTENNA1")
    amp, flag = np.abs(t.getcol("CPARAM"))[:, 0, :], t.getcol("FLAG")[:, 0, :]
    t.close()
    t0 = tm[fid == ref_field].min()
    slopes, edges = [], []
    for a in np.unique(ant[fid == field]):
        for p in range(amp.shape[1]):
            k = (fid == field) & (ant == a) & ~flag[:, p]
            if k.sum() >= 4:
                y = np.log(amp[k, p])
                b, c = np.polyfit((tm[k] - t0) / 3600, y, 1)
                slopes.append(b)
                edges.append(c - y.mean())
    return np.array(slopes), np.array(edges)


def test_ngc5921_no_overrides(ngc5921_copy, tmp_path):
    ctx = run_recipe("gfluxscale", [ngc5921_copy], str(tmp_path / "o"), weblog=False)
    st = ctx.ms["ngc5921.ms"]
    roles = {f.name: (f.role, f.rule) for f in st.fields}
    assert roles["1331+30500002_0"] == ("reference", "name is the flux-density standard 3C286")
    assert roles["1445+09900002_0"][0] == "transfer" and "calibrator" in roles["1445+09900002_0"][1]
    assert roles["N5921_2"][0] == "target"
    got = st.fluxes["1445+09900002_0"].spws[0].flux_jy
    assert st.fluxes["1445+09900002_0"].spws[0].estimator == "joint"
    casa = run_recipe("gfluxscale_casa", [ngc5921_copy], str(tmp_path / "c"),
                      weblog=False).ms["ngc5921.ms"].fluxes["1445+09900002_0"].spws[0].flux_jy
    assert casa == pytest.approx(CASA_1445_ALL, rel=1e-5)     # CASA's estimator: CASA's number
    assert got == pytest.approx(JOINT_1445_ALL, rel=1e-5)     # regression: the joint estimator's value
    # The default (joint) estimator models the gain drift these data have. Issue 11 asked for
    # CASA's value within 0.3 %; since issue 14 the joint estimator finds a drift of the 1445+099
    # gains (BIC and the held-out edge check) and moves the flux by -0.50 %. Checked here
    # independently of the pipeline's fit: a straight line per antenna through its 1445+099
    # amplitudes (numpy polyfit on the amplitude table) shows the drift, and extrapolating it to
    # 3C286's scan predicts the joint/CASA ratio.
    slope, edge = _drift_from_table(ctx.abspath(st.calibration("amplitude").table), 1, 0)
    assert slope.mean() > 4 * slope.std(ddof=1) / np.sqrt(len(slope))       # the drift is real (7 sigma)
    predicted = float(np.exp(2 * edge.mean()))
    tol = 3 * 2 * edge.std(ddof=1) / np.sqrt(len(edge))
    assert got / casa == pytest.approx(predicted, abs=tol)
    assert "BIC lower" in st.fluxes["1445+09900002_0"].spws[0].drift_note
    # the target is never solved: no solutions for field 2 in any table, not in the cube
    for e in st.callibrary:
        assert 2 not in set(table(ctx.abspath(e.table), ack=False).getcol("FIELD_ID"))
    assert 2 not in st.cube.keys
    print(f"NGC5921 no overrides: 1445+099 {got:.6f} Jy (joint), {casa:.6f} (casa), CASA {CASA_1445_ALL:.6f}")


def test_ngc5921_channel_selection_matches_casa(ngc5921_copy, tmp_path):
    ctx = run_recipe("gfluxscale_casa", [ngc5921_copy], str(tmp_path / "o"), ["setmodel.spw=0:5~58"], weblog=False)
    st = ctx.ms["ngc5921.ms"]
    assert st.spw_selection == "0:5~58"
    v = st.fluxes["1445+09900002_0"].spws[0]
    assert v.flux_jy == pytest.approx(CASA_1445_CH5_58, rel=1e-5) and v.n == 27
    # the selection is what changed the number: all channels give CASA's all-channel value
    assert abs(v.flux_jy - CASA_1445_ALL) > 5e-4


def expected_diameter(truth) -> float:
    """Uranus's size computed here, not by the pipeline: astropy distance, IAU mean radius."""
    from astropy.coordinates import get_body, solar_system_ephemeris
    from astropy.time import Time
    sc = [s for s in truth["scans"] if s["field"] == "Uranus"]
    mid = 0.5 * (min(s["start"] for s in sc) + max(s["end"] for s in sc)) / 86400
    with solar_system_ephemeris.set("builtin"):
        d = get_body("uranus", Time(mid, format="mjd", scale="utc")).distance.to("km").value
    return float(2 * np.degrees(np.arcsin(25362.0 / d)) * 3600)


@pytest.mark.parametrize("with_table", [True, False], ids=["ephemeris-table", "built-in-ephemeris"])
def test_planet_reference_without_a_diameter(tmp_path, with_table):
    ms = str(tmp_path / "p.ms")
    truth = simulate(ms, "alma_band6_planet", seed=4, ephemeris_table=with_table)
    # the preset's truth is its flux.csv row (a power law): the row is used only when asked for
    ctx = run_recipe("gfluxscale", [ms], str(tmp_path / "o"), ["setmodel.standard=flux.csv"], weblog=False)
    st = ctx.ms["p.ms"]
    m = st.reference_model
    assert m.disk_arcsec == pytest.approx(expected_diameter(truth), rel=2e-3)
    assert ("EPHEM0_Uranus" in m.disk_origin) == with_table and ("astropy" in m.disk_origin) != with_table
    assert 3 <= len(st.resolved.antennas) < 25                 # the resolved selection applied itself
    e = errors(st, truth)
    assert np.abs(e).max() < 0.02, e                          # the target
    check = next(q for q in qa_of(ctx, "resolvedcal") if q.metric == "disk_size_arcsec")
    assert check.value == 1.0 and check.metric_value == pytest.approx(m.disk_arcsec, rel=0.02)
    print(f"planet ({'table' if with_table else 'astropy'}): disk {m.disk_arcsec:.4f}\", "
          f"max |error| {np.abs(e).max():.4f}, rms {np.sqrt(np.mean(e ** 2)):.4f}")


def test_planet_as_point_is_red_and_fit_recovers(tmp_path):
    ms = str(tmp_path / "p.ms")
    truth = simulate(ms, "alma_band6_planet", seed=6, ephemeris_table=False)
    bad = run_recipe("gfluxscale", [ms], str(tmp_path / "a"), ["setmodel.disk_arcsec=0", "setmodel.standard=flux.csv"],
                     weblog=False)
    check = next(q for q in qa_of(bad, "resolvedcal") if q.metric == "disk_size_arcsec")
    assert check.value <= 0.33 and "set setmodel.disk_arcsec=3.6" in check.short
    assert min(q.value for q in qa_of(bad, "fluxtransfer")) <= 0.33   # fluxes far off: red
    fit = run_recipe("gfluxscale", [ms], str(tmp_path / "b"), ["setmodel.disk_arcsec=fit", "setmodel.standard=flux.csv"],
                     weblog=False)
    m = fit.ms["p.ms"].reference_model
    assert m.disk_arcsec == pytest.approx(expected_diameter(truth), rel=0.01) and "fitted" in m.disk_origin
    assert np.abs(errors(fit.ms["p.ms"], truth)).max() < 0.02


def test_limb_darkened_disk_simulated_independently(tmp_path):
    """The simulator computes the disk by numerical Hankel transform; the pipeline's analytic
    limb-darkened model must reproduce it (the uniform model must not)."""
    ms = str(tmp_path / "g.ms")
    truth = simulate(ms, "alma_band6_resolved", seed=5)
    out = {}
    for limb in (0.3, 0.0):
        ctx = run_recipe("gfluxscale", [ms], str(tmp_path / f"o{limb}"),
                         ["setmodel.disk_arcsec=1.6", f"setmodel.limb={limb}", "setmodel.standard=flux.csv"],
                         weblog=False)
        out[limb] = np.abs(errors(ctx.ms["g.ms"], truth))
    assert out[0.3].max() < 0.01 and out[0.3].mean() * 3 < out[0.0].mean()


@pytest.fixture(scope="module")
def band3(tmp_path_factory):
    d = tmp_path_factory.mktemp("b3")
    return str(d / "b3.ms"), simulate(str(d / "b3.ms"), "alma_band3", seed=5)


def test_gross_error_is_red(band3, tmp_path):
    ms, truth = band3
    ctx = run_recipe("gfluxscale", [ms], str(tmp_path / "o"), ["setmodel.flux=32", "setmodel.spix=[-0.6]"],
                     weblog=False)
    cat = [q for q in qa_of(ctx, "fluxtransfer") if q.metric == "catalogue_ratio"]
    assert len(cat) == 3 and all(q.value <= 0.33 for q in cat)
    assert all("x the catalogue's" in q.short for q in cat)
    from fluxpipe.weblog import render
    html = open(render(ctx)).read()        # the front page says so first
    assert 'class="banner qa-red" id="banner">3 QA scores at or below 0.33' in html


def test_two_reference_fields(band3, tmp_path):
    ms, truth = band3
    ctx = run_recipe("gfluxscale", [ms], str(tmp_path / "o"), ["setmodel.reference=J0423-0120,J0510+1800"],
                     weblog=False)
    st = ctx.ms["b3.ms"]
    assert st.references == ["J0423-0120", "J0510+1800"] and set(st.fluxes) == {"J0530+1331", "J0541+1527"}
    # J0510's catalogue value is off (the simulator's catalogue error): with c = catalogue / true
    # per reference, its gains come out c^-1/2 of the true ones, and averaging the two
    # references' gains scales every transfer flux by k = 1 / ((c1^-1/2 + c2^-1/2) / 2)^2,
    # computed here from flux.csv and the truth
    from fluxpipe.fluxcsv import read_flux_csv
    cat = {(r.field, r.spw): r.I for r in read_flux_csv(os.path.join(os.path.dirname(ms), "flux.csv"))}
    for f, r in st.fluxes.items():
        for s, v in r.spws.items():
            c = [cat[(ref, s)] / truth["fields"][ref]["flux_per_spw"][s] for ref in st.references]
            k = 1 / (np.mean(np.array(c) ** -0.5)) ** 2
            true = truth["fields"][f]["flux_per_spw"][s]
            assert abs(c[1] - 1) > 0.005 and abs(v.flux_jy / true - k) < 3 * v.error_jy / true, (f, s, k, v.flux_jy / true)
    fl = json.load(open(ctx.abspath("fluxes.json")))["b3.ms"]
    assert fl["J0510+1800"]["role"] == "reference" and fl["J0423-0120"]["role"] == "reference"


def test_flagged_spw_and_field(tmp_path):
    ms = str(tmp_path / "f.ms")
    simulate(ms, "alma_band3", seed=9, faults={"flagged_spw": 2, "flagged_field": "J0541+1527"})
    ctx = run_recipe("gfluxscale", [ms], str(tmp_path / "o"), weblog=False)
    st = ctx.ms["f.ms"]
    for name in ("J0510+1800", "J0530+1331"):
        sp = st.fluxes[name].spws
        assert sp[2].missing and sp[2].reason == "all data flagged"
        assert all(not sp[s].missing for s in (0, 1, 3))
    chk = st.fluxes["J0541+1527"].spws
    assert all(v.missing and v.reason == "all data flagged" for v in chk.values())
    comp = next(q for q in qa_of(ctx, "fluxtransfer") if q.metric == "completeness")
    assert comp.metric_value == pytest.approx(6 / 12)
    fl = json.load(open(ctx.abspath("fluxes.json")))["f.ms"]
    assert fl["J0541+1527"]["spws"]["0"] == {"freq_hz": pytest.approx(90.5e9, rel=1e-3), "flux_jy": None,
                                             "n": 0, "missing": True, "reason": "all data flagged"}


def test_degenerate_field_lists(tmp_path):
    ms = str(tmp_path / "s.ms")
    simulate(ms, "small", seed=3)
    with pytest.raises(PipelineError, match=r"transfer field J0423-0120 is the reference; fields: "
                                            r"J0423-0120 \(AMPLITUDE,WVR\)"):
        run_recipe("gfluxscale", [ms], str(tmp_path / "a"), ["fluxtransfer.transfer=J0423-0120"], weblog=False)
    with pytest.raises(PipelineError, match=r"no transfer field besides the reference J0530\+1331; "
                                            r"fields: .*set fluxtransfer.transfer"):
        run_recipe("gfluxscale", [ms], str(tmp_path / "b"), ["setmodel.reference=J0530+1331"], weblog=False)
    # a science target as transfer field is refused (it is never solved, so it would get no flux)
    with pytest.raises(PipelineError, match=r"TargetX is a science target .*give calibrators: J0530\+1331"):
        run_recipe("gfluxscale", [ms], str(tmp_path / "c"), ["fluxtransfer.transfer=J0530+1331,TargetX"],
                   weblog=False)


def test_planet_row_is_ignored_as_alma_does(tmp_path):
    """A solar-system reference with a flux.csv row gets Butler-JPL-Horizons 2012 by default (ALMA's
    hif_setmodels ignores such rows), with a note in the QA; standard=flux.csv uses the row."""
    ms = str(tmp_path / "p.ms")
    simulate(ms, "alma_band6_planet", seed=4)
    ctx = run_recipe("gfluxscale", [ms], str(tmp_path / "o"), ["fluxtransfer.estimator=casa"], weblog=False)
    m = ctx.ms["p.ms"].reference_model
    assert m.origin == "Butler-JPL-Horizons 2012" and "flux.csv row for Uranus ignored" in m.note
    origin = next(q for q in qa_of(ctx, "setmodel") if q.metric == "model_origin")
    assert "flux.csv row for Uranus ignored" in origin.short
    row = run_recipe("gfluxscale", [ms], str(tmp_path / "r"), ["setmodel.standard=flux.csv", "fluxtransfer.estimator=casa"],
                     weblog=False).ms["p.ms"]
    assert row.reference_model.origin == "flux.csv" and not row.reference_model.note
    # every transfer flux scales by the two models' ratio at its spw (the row: 30 Jy, spix 1.9 at
    # 233 GHz; Uranus's model about 38 Jy there)
    for f in row.fluxes:
        for s, v in row.fluxes[f].spws.items():
            fc = np.array([v.freq_hz])
            expect = m.spectrum(s, fc)[0] / row.reference_model.spectrum(s, fc)[0]
            assert abs(expect - 1.27) < 0.05
            assert ctx.ms["p.ms"].fluxes[f].spws[s].flux_jy / v.flux_jy == pytest.approx(expect, rel=0.01), (f, s)
    # the note says how far the ignored row is from the model: the runs' flux ratios lie in its range
    lo, _, hi = re.search(r"row / model ([0-9.]+)-?([0-9.]*)", m.note).group(1, 1, 2)
    ratios = [v.flux_jy / ctx.ms["p.ms"].fluxes[f].spws[s].flux_jy for f in row.fluxes
              for s, v in row.fluxes[f].spws.items()]
    assert float(lo) * 0.99 < min(ratios) and max(ratios) < float(hi or lo) * 1.01, (m.note, ratios)


def test_planet_with_three_antennas_kept(tmp_path):
    """A resolved planet whose ALMA selection keeps 3 antennas (peak_fraction 0.7 here), modelled by
    Butler-JPL-Horizons 2012 (the simulator's own sky, no flux.csv row): each antenna has 2
    baselines, so the reference's solves use minblperant 2 (ALMA's) and the run completes; its
    fluxes agree with the truth within their (larger) errors."""
    ms = str(tmp_path / "p.ms")
    truth = simulate(ms, "alma_band6_bjh", seed=3)
    ctx = run_recipe("gfluxscale", [ms], str(tmp_path / "o"), ["resolvedcal.peak_fraction=0.7"], weblog=False)
    st = ctx.ms["p.ms"]
    assert len(st.resolved.antennas) == 3 and not st.resolved.fell_back
    for stage in ("phaseup", "ampsolve"):
        rec = next(r for r in ctx.results if r.stage == stage)
        assert rec.summary["reference_minblperant"] == 2
    for f, r in st.fluxes.items():
        for s, v in r.spws.items():
            true = truth["fields"][f]["flux_per_spw"][s]
            assert abs(v.flux_jy - true) < 3 * v.error_jy, (f, s, v.flux_jy / true - 1, v.error_jy / true)
    # the model is exact here, so it may be trusted on every baseline: all 25 antennas solve the
    # reference and the errors shrink (seeds 1-4: median 0.93 % -> 0.23 %, rms from the truth
    # 0.40 % -> 0.24 %)
    every = run_recipe("gfluxscale", [ms], str(tmp_path / "a"), ["resolvedcal.hm_resolvedcals=all"],
                       weblog=False).ms["p.ms"]
    assert every.resolved.antennas == [] and "trusted on every baseline" in every.resolved.reason
    rel = {k: [v.error_jy / v.flux_jy for r in x.fluxes.values() for v in r.spws.values()]
           for k, x in (("3", st), ("all", every))}
    assert np.median(rel["all"]) < np.median(rel["3"]) / 3, rel
    for f, r in every.fluxes.items():
        for s, v in r.spws.items():
            assert abs(v.flux_jy - truth["fields"][f]["flux_per_spw"][s]) < 3 * v.error_jy, (f, s)
