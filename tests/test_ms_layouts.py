"""NGC5921 as archives also hold it: without autocorrelation rows, with its rows in descending
time, with an antenna flagged throughout, with the reference's first half-scan flagged, and
split out by CASA's mstransform (channel- and time-averaged, WEIGHT_SPECTRUM). The first four
are made from the pristine MS by the oracle's own `make_variant` (python-casacore), the last is
stored as CASA wrote it; gfluxscale_casa is compared with CASA 6.7's chain on the same variant
(benchmarks/casa_oracle/ngc5921_variants.py, stored in tests/data/casa_ngc5921_variants.json).
NGC5921 joined with a copy of itself as a second observation (two days later, or right after it)
checks the joint estimator's observations; joined without renumbering its scans, the refusal."""
import importlib.util
import json
import os
import tarfile

import pytest

from fluxpipe import run_recipe

HERE = os.path.dirname(os.path.abspath(__file__))
STORED = json.load(open(os.path.join(HERE, "data", "casa_ngc5921_variants.json")))
TRANSFER = "1445+09900002_0"


def make_variant(src: str, dst: str, kind: str) -> None:
    spec = importlib.util.spec_from_file_location(
        "ngc5921_variants", os.path.join(HERE, "..", "benchmarks", "casa_oracle", "ngc5921_variants.py"))
    oracle = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(oracle)
    oracle.make_variant(src, dst, kind)


@pytest.mark.parametrize("kind", ["noauto", "flagant", "halfscan", "mstransform"])
def test_variant_matches_casa(kind, ngc5921_pristine, tmp_path):
    ms = str(tmp_path / f"v_{kind}.ms")
    if kind == "mstransform":      # two spws (8 and 7 channels of 4), 60 s, WEIGHT_ and SIGMA_SPECTRUM
        with tarfile.open(os.path.join(HERE, "data", "ngc5921_mstransform.ms.tgz")) as tar:
            tar.extractall(tmp_path, filter="data")
        os.rename(tmp_path / "ngc5921_mstransform.ms", ms)
    else:
        make_variant(ngc5921_pristine, ms, kind)
    st = run_recipe("gfluxscale_casa", [ms], str(tmp_path / "o"), weblog=False).ms[f"v_{kind}.ms"]
    # CASA was given the refants fluxpipe ranks; a changed ranking would make the comparison moot
    assert ",".join(st.summary["antennas"][a] for a in st.refants) == STORED["refants"][kind]
    got = st.fluxes[TRANSFER].spws
    assert sorted(got) == [int(s) for s in sorted(STORED["variants"][kind])]
    for s, casa in STORED["variants"][kind].items():
        v = got[int(s)]
        assert v.n == casa["numSol"]
        assert v.flux_jy == pytest.approx(casa["fluxd"], rel=1e-5), s
        # the error is the scatter of 26-27 per-antenna ratios (0.5 % apart); the gains agree with
        # CASA's to ~1e-5, which moves that scatter by up to ~1e-5 / 0.005 / sqrt(26) = 4e-4
        assert v.error_jy == pytest.approx(casa["fluxdErr"], rel=1e-3), s


def test_row_order_changes_nothing(ngc5921_pristine, ngc5921_copy, tmp_path):
    """The same data in descending time give bit-identical fluxes, with either recipe. (CASA's
    gaincal solint='inf' does not: on the reversed MS it solves each scan's last integration
    on its own, 10 amplitude solutions per antenna instead of 5, and fluxscale gives 2.528555 Jy
    instead of 2.526563, error 0.002221 instead of 0.002338; stored beside the variants.)"""
    rev = str(tmp_path / "rev.ms")
    make_variant(ngc5921_pristine, rev, "reversed")
    for recipe in ("gfluxscale", "gfluxscale_casa"):
        a = run_recipe(recipe, [ngc5921_copy], str(tmp_path / f"a_{recipe}"), weblog=False)   # writes MODEL_DATA
        b = run_recipe(recipe, [rev], str(tmp_path / f"b_{recipe}"), weblog=False)
        va, vb = a.ms["ngc5921.ms"].fluxes[TRANSFER].spws[0], b.ms["rev.ms"].fluxes[TRANSFER].spws[0]
        assert (vb.flux_jy, vb.error_jy, vb.n) == (va.flux_jy, va.error_jy, va.n), recipe


def _concatenated(src: str, dst: str, shift_s: float, renumber: bool = True, observation: bool = False) -> None:
    """`src` followed by a copy of its rows `shift_s` later (python-casacore), as CASA's concat
    writes two observations of the same fields into one MS: scans renumbered (renumber False:
    repeated, as in MSes joined without renumbering), the copy in observation 1 (observation)."""
    import shutil

    import numpy as np
    from casacore.tables import table
    shutil.copytree(src, dst)
    t = table(dst, readonly=False, ack=False)
    n = t.nrows()
    t.copyrows(t, startrowin=0, startrowout=-1, nrow=n)
    for col, add in (("TIME", shift_s), ("TIME_CENTROID", shift_s), ("SCAN_NUMBER", 100 * renumber)):
        t.putcol(col, t.getcol(col, 0, n) + add, n, n)
    if observation:
        t.putcol("OBSERVATION_ID", np.ones(n, np.int32), n, n)
        o = table(dst + "/OBSERVATION", readonly=False, ack=False)
        o.copyrows(o, startrowin=0, startrowout=-1, nrow=1)
        o.close()
    t.close()


def test_repeated_scan_numbers_are_refused(ngc5921_copy, tmp_path):
    """Two observations that share scan numbers (MSes joined without renumbering): fluxpipe keys
    its solutions by scan number, so it would merge scan 1 of both days into one solution; it
    stops with a one-line error naming the scan and the fix, before touching the MS."""
    from test_trust import checksums

    from fluxpipe.errors import PipelineError
    ms = str(tmp_path / "joined.ms")
    _concatenated(ngc5921_copy, ms, 2 * 86400, renumber=False, observation=True)
    before = checksums(ms)
    with pytest.raises(PipelineError, match=r"scan 1 is in observations 0 and 1 .*split it by observation"):
        run_recipe("gfluxscale", [ms], str(tmp_path / "o"), weblog=False)
    assert checksums(ms) == before


def test_concatenated_observations(ngc5921_copy, tmp_path):
    """NGC5921 and the same data two days later in one MS: each observation is fitted with its own
    gains and drift, so the joint estimator finds the within-day drift (7 sigma on one day) and
    gives the one-day flux (before: one drift over two days could not fit, constant gains were
    kept and the flux came out 0.55 % higher, 2.52785 Jy). CASA's estimator assumes the same
    gains throughout, and with identical copies also gives its one-day value."""
    one = run_recipe("gfluxscale", [ngc5921_copy], str(tmp_path / "one"), weblog=False).ms["ngc5921.ms"]
    ms = str(tmp_path / "two.ms")
    _concatenated(ngc5921_copy, ms, 2 * 86400)
    two = run_recipe("gfluxscale", [ms], str(tmp_path / "two"), weblog=False).ms["two.ms"]
    v1, v2 = one.fluxes[TRANSFER].spws[0], two.fluxes[TRANSFER].spws[0]
    assert "2 observations" in v2.drift_note and "drift (1, 0)" in v2.drift_note, v2.drift_note
    assert v2.flux_jy == pytest.approx(v1.flux_jy, rel=1e-9)
    assert v2.casa_flux_jy == pytest.approx(v1.casa_flux_jy, rel=1e-9)
    # without the reference in the second observation its gains are not known: one run, as CASA
    ms3 = str(tmp_path / "noref.ms")
    _concatenated(ngc5921_copy, ms3, 2 * 86400)
    from casacore.tables import table
    t = table(ms3, readonly=False, ack=False)
    later = (t.getcol("TIME") > t.getcol("TIME").min() + 86400) & (t.getcol("FIELD_ID") == 0)
    flag = t.getcol("FLAG")
    flag[later] = True
    t.putcol("FLAG", flag)
    t.close()
    three = run_recipe("gfluxscale", [ms3], str(tmp_path / "three"), weblog=False).ms["noref.ms"]
    assert "observations" not in three.fluxes[TRANSFER].spws[0].drift_note


def test_back_to_back_observations(ngc5921_copy, tmp_path):
    """NGC5921 and its copy right after it (10 min later) as a second observation
    (OBSERVATION_ID 1, as CASA's concat of two EBs writes): the observations are told apart by
    their OBSERVATION_ID, which the amplitude table carries, not by a gap; each gets its own
    gains and drift, and the flux is the one-observation value."""
    from casacore.tables import table
    one = run_recipe("gfluxscale", [ngc5921_copy], str(tmp_path / "one"), weblog=False).ms["ngc5921.ms"]
    t = table(ngc5921_copy, ack=False)
    span = float(t.getcol("TIME").max() - t.getcol("TIME").min())
    t.close()
    ms = str(tmp_path / "b2b.ms")
    _concatenated(ngc5921_copy, ms, span + 600, observation=True)
    ctx = run_recipe("gfluxscale", [ms], str(tmp_path / "two"), weblog=False)
    st = ctx.ms["b2b.ms"]
    amp = table(ctx.abspath(st.calibration("amplitude").table), ack=False)
    assert sorted(set(amp.getcol("OBSERVATION_ID").tolist())) == [0, 1]     # as CASA's table would
    v1, v2 = one.fluxes[TRANSFER].spws[0], st.fluxes[TRANSFER].spws[0]
    assert "2 observations" in v2.drift_note, v2.drift_note
    assert v2.flux_jy == pytest.approx(v1.flux_jy, rel=1e-9)
