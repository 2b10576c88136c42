"""Inputs refused early with one line that names what to change (issue 'Runs that survive ...',
the cases built so far): flux.csv with a byte-order mark, conflicting flux.csv rows, an empty
recipe, --parallel below 1, a target as transfer field."""
import numpy as np
import pytest
from clirun import cli

from fluxpipe import run_recipe
from fluxpipe.errors import PipelineError
from fluxpipe.fluxcsv import read_flux_csv
from fluxpipe.sim import simulate

HEADER = "ms,field,spw,I,Q,U,V,spix,uvmin,uvmax,comment\n"


def test_flux_csv_bom_and_conflicts(tmp_path):
    p = tmp_path / "flux.csv"
    p.write_bytes(b"\xef\xbb\xbf" + (HEADER + "s.ms,J0423-0120,0,3.2,0,0,0,-0.6,0,0,#\n").encode())
    assert [r.I for r in read_flux_csv(str(p))] == [3.2]
    p.write_text(HEADER + "s.ms,J0423-0120,0,3.2,0,0,0,-0.6,0,0,#\n" + "s.ms,J0423-0120,0,3.2,0,0,0,-0.6,0,0,#\n")
    assert len(read_flux_csv(str(p))) == 1                      # the same row twice: one row
    p.write_text(HEADER + "s.ms,J0423-0120,0,3.2,0,0,0,-0.6,0,0,#\n" + "s.ms,J0530+1331,0,1.0,0,0,0,0,0,0,#\n"
                 + "s.ms,J0423-0120,0,4.5,0,0,0,-0.6,0,0,#\n")
    with pytest.raises(PipelineError, match=r"lines 2 and 4 give J0423-0120 spw 0 of s.ms two fluxes \(3.2 and 4.5 Jy\)"):
        read_flux_csv(str(p))
    p.write_text(HEADER + "s.ms,J0423-0120,0,inf,0,0,0,-0.6,0,0,#\n")
    with pytest.raises(PipelineError, match="not positive and finite"):
        read_flux_csv(str(p))


def test_empty_recipe_and_parallel(tmp_path):
    ms = str(tmp_path / "s.ms")
    simulate(ms, "small", seed=1)
    (tmp_path / "empty.yaml").write_text("stages: []\n")
    r = cli("run", str(tmp_path / "empty.yaml"), ms, "--out", str(tmp_path / "o"))
    assert r.returncode == 1 and "list is empty" in r.stderr and r.stderr.strip().count("\n") == 0
    for bad in ("0", "-2"):
        r = cli("run", "gfluxscale", ms, "--out", str(tmp_path / "o"), "--parallel", bad)
        assert r.returncode == 2 and "--parallel" in r.stderr and ">= 1" in r.stderr


def test_target_as_transfer_is_refused(tmp_path):
    ms = str(tmp_path / "s.ms")
    simulate(ms, "small", seed=1)
    with pytest.raises(PipelineError, match="fluxtransfer.transfer: TargetX is a science target"):
        run_recipe("gfluxscale", [ms], str(tmp_path / "o"), ["fluxtransfer.transfer=TargetX"], weblog=False)


@pytest.mark.parametrize("override, message", [
    ("phaseup.minsnr=true", "phaseup.minsnr: True is a boolean; give a float"),
    ("fluxtransfer.catalogue_range=[1.4,0.7]", "0 < low < high"),
    ("setmodel.disk_arcsec=-1", "greater than or equal to 0"),
    ("setmodel.disk_arcsec=nan", "finite number"),
    ("setmodel.flux=inf", "finite number"),
    ("setmodel.spix=[1e999]", "finite number"),
    ("setmodel.reffreq_hz=.inf", "finite number"),
])
def test_numeric_inputs_checked_at_load(override, message):
    from fluxpipe.errors import InputsError
    from fluxpipe.recipe import load_recipe
    with pytest.raises(InputsError, match=message) as e:
        load_recipe("gfluxscale", [override])
    assert override.split("=")[0] in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("how", ["state_id -1", "no STATE table"])
def test_stateless_data_use_the_rules_by_name(tmp_path, how):
    """Without intents (STATE_ID -1 or no STATE table) the reference is the flux.csv row whose
    comment says intents=AMPLITUDE, the other catalogued calibrator is transferred, the target
    stays a target; the fluxes are as with intents."""
    import shutil

    from casacore.tables import table
    ms = str(tmp_path / "s.ms")
    simulate(ms, "small", seed=5)
    with_intents = run_recipe("gfluxscale", [ms], str(tmp_path / "a"), weblog=False).ms["s.ms"]
    t = table(ms, ack=False, readonly=False)
    t.putcol("STATE_ID", -1 + 0 * t.getcol("STATE_ID"))
    if how == "no STATE table":
        t.removekeyword("STATE")
    t.close()
    if how == "no STATE table":
        shutil.rmtree(ms + "/STATE")
    st = run_recipe("gfluxscale", [ms], str(tmp_path / "b"), weblog=False).ms["s.ms"]
    roles = {f.name: f.role for f in st.fields}
    assert roles == {"J0423-0120": "reference", "J0530+1331": "transfer", "TargetX": "target"}, st.fields
    assert "intents=AMPLITUDE" in next(f.rule for f in st.fields if f.role == "reference")
    for s, v in st.fluxes["J0530+1331"].spws.items():
        w = with_intents.fluxes["J0530+1331"].spws[s]
        assert abs(v.flux_jy - w.flux_jy) < 3 * w.error_jy


@pytest.mark.parametrize("damage", ["table.dat cut", "data file cut", "no SPECTRAL_WINDOW"])
def test_damaged_precal_table_is_one_line(tmp_path, damage):
    """A precal table casacore cannot read, or that lacks a caltable's parts: exit 1, one line
    naming the table (it was exit 3)."""
    import glob
    import os
    import shutil
    ms = str(tmp_path / "s.ms")
    simulate(ms, "small", seed=1)
    run_recipe("gfluxscale", [ms], str(tmp_path / "a"), weblog=False)
    tab = str(tmp_path / "g.tbl")
    shutil.copytree(str(tmp_path / "a" / "s.ms.phaseup.tbl"), tab)
    if damage == "table.dat cut":
        p = os.path.join(tab, "table.dat")
        open(p, "r+b").truncate(os.path.getsize(p) // 2)
    elif damage == "data file cut":
        p = max(glob.glob(os.path.join(tab, "table.f*")), key=os.path.getsize)
        open(p, "r+b").truncate(os.path.getsize(p) // 3)
    else:
        shutil.rmtree(os.path.join(tab, "SPECTRAL_WINDOW"))
    r = cli("run", "gfluxscale", ms, "--out", str(tmp_path / "b"), "--set", f"precal.gaintable=[{tab}]")
    assert r.returncode == 1 and r.stderr.strip().count("\n") == 0, (r.returncode, r.stderr[-600:])
    assert "g.tbl" in r.stderr


def test_antenna_selection_that_keeps_nothing(tmp_path):
    ms = str(tmp_path / "s.ms")
    simulate(ms, "small", seed=1)
    with pytest.raises(PipelineError, match=r"fluxtransfer.antenna='!\*' selects no antenna of s.ms"):
        run_recipe("gfluxscale", [ms], str(tmp_path / "o"), ["fluxtransfer.antenna=!*"], weblog=False)
    ctx = run_recipe("gfluxscale", [ms], str(tmp_path / "p"), ["fluxtransfer.antenna=!DV01"], weblog=False)
    assert all(v.flux_jy > 0 for v in ctx.ms["s.ms"].fluxes["J0530+1331"].spws.values())


def test_nonfinite_data_are_flagged_and_counted(tmp_path):
    """NaN visibilities in 40 rows of the reference, NaN weights in 40 of the bandpass
    calibrator's and NaN UVW in 40 of the phase calibrator's: they are left out like flags
    (before, the first stopped the run: 'no unflagged solutions'), counted per field and spw in
    resolvedcal's summary and QA (0.66: 0.14 % of a field's samples), and every flux equals the
    clean EB's within a tenth of its error; MODEL_DATA stays finite."""
    from casacore.tables import table

    from fluxpipe import run_recipe
    from fluxpipe.sim import simulate
    clean, dirty = str(tmp_path / "a.ms"), str(tmp_path / "b.ms")
    simulate(clean, "alma_band3", seed=7)
    simulate(dirty, "alma_band3", seed=7)
    rng = np.random.default_rng(1)
    with table(dirty, readonly=False, ack=False) as t:
        fid = t.getcol("FIELD_ID")
        for f, col in ((0, "DATA"), (1, "WEIGHT"), (2, "UVW")):
            for r in rng.choice(np.flatnonzero(fid == f), 40, replace=False):
                v = t.getcell(col, int(r))
                v[...] = np.nan
                t.putcell(col, int(r), v)
    a = run_recipe("gfluxscale", [clean], str(tmp_path / "oa"), weblog=False)
    b = run_recipe("gfluxscale", [dirty], str(tmp_path / "ob"), weblog=False)
    for f, res in a.ms["a.ms"].fluxes.items():
        for s, v in res.spws.items():
            assert abs(b.ms["b.ms"].fluxes[f].spws[s].flux_jy - v.flux_jy) < 0.1 * v.error_jy, (f, s)
    rec = next(r for r in b.results if r.stage == "resolvedcal")
    counts = {(x["field"], x["spw"]): x["samples"] for x in rec.summary["nonfinite"]}
    assert {f for f, _ in counts} == {"J0423-0120", "J0510+1800", "J0530+1331"} and all(n > 0 for n in counts.values())
    q = next(q for q in rec.qa if q.metric == "nonfinite_fraction")
    assert q.value == 0.66 and "non-finite visibility samples" in q.short
    assert not any(q.metric == "nonfinite_fraction" for r in a.results for q in r.qa)
    with table(dirty, ack=False) as t:
        assert np.isfinite(t.getcol("MODEL_DATA")).all()


def test_impossible_solve_settings_name_the_parameter(tmp_path):
    """A minblperant beyond an antenna's baselines, and an outlier threshold that would flag
    most solutions, are one-line errors naming the parameter (they were reported as 'lower
    phaseup.minsnr' and as a reference without solutions)."""
    ms = str(tmp_path / "s.ms")
    simulate(ms, "small", seed=1)
    with pytest.raises(PipelineError, match=r"phaseup.minblperant=100 exceeds the 7 baselines .* give at most 7"):
        run_recipe("gfluxscale", [ms], str(tmp_path / "a"), ["phaseup.minblperant=100"], weblog=False)
    with pytest.raises(PipelineError, match=r"ampflag.amp_outlier_sigma=1e-06 would flag 64 of the 64 .* give a larger"):
        run_recipe("gfluxscale", [ms], str(tmp_path / "b"), ["ampflag.amp_outlier_sigma=1e-6"], weblog=False)
