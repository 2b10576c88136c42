"""The joint flux-transfer estimator: on amplitude solutions made here (per-antenna
gains that drift, fields at different times, a known SNR), and in the pipeline on drifting EBs
against CASA's estimator. The many-seed version is benchmarks/bench_estimator.py."""
import shutil

import numpy as np
import pytest

from fluxpipe import run_recipe
from fluxpipe.heuristics.jointflux import joint_flux
from fluxpipe.sim import simulate

FLUX = {1: 1.8, 2: 0.9, 3: 0.25}      # field -> Jy; field 0 is the reference


def solutions(rng, drift_per_h: float, nant: int = 20, snr: float = 200.0, outlier: bool = False):
    """One amplitude solution per antenna and scan: |g_a(t)| sqrt(S_f) with |g| drifting."""
    sched = [(0, 0.0), (1, 0.1)] + [(2, 0.2 + 0.15 * k) for k in range(6)] + [(3, 0.5), (3, 0.95)]
    g0 = rng.uniform(0.8, 1.2, nant)
    rate = rng.normal(0, drift_per_h, nant)
    rows = []
    for f, t in sched:
        g = g0 * (1 + rate * t)
        a = g * np.sqrt(FLUX.get(f, 1.0)) * (1 + rng.normal(0, 1 / snr, nant))
        rows += [(a[i], snr, f, i, t * 3600) for i in range(nant)]
    amp, s, fld, ant, tm = (np.array(x) for x in zip(*rows))
    if outlier:
        amp[(fld == 2) & (ant == 5) & (tm == tm[fld == 2][0])] *= 0.3
    return amp, s, fld, ant, tm


def test_recovers_fluxes_with_drift_and_names_the_order():
    rng = np.random.default_rng(3)
    fit = joint_flux(*solutions(rng, drift_per_h=0.05), reference=[0])
    assert fit.order >= 1                                  # the drift is seen
    for f, s in FLUX.items():
        assert fit.flux[f] == pytest.approx(s, rel=4 * np.hypot(fit.stat_err[f], fit.temporal_err[f]) / s + 1e-3)
    flat = joint_flux(*solutions(np.random.default_rng(4), drift_per_h=0.0), reference=[0])
    assert flat.order == 0                                 # no drift: CASA's constant gains
    for f, s in FLUX.items():
        assert abs(flat.flux[f] / s - 1) < 4 * flat.stat_err[f] / s


def test_outlier_is_rejected_and_antennas_reported():
    rng = np.random.default_rng(5)
    fit = joint_flux(*solutions(rng, drift_per_h=0.0, outlier=True), reference=[0])
    assert fit.rejected >= 1
    assert fit.flux[2] == pytest.approx(FLUX[2], rel=0.005)
    assert len([k for k in fit.ant_ratio if k[0] == 2]) == 20


def test_pipeline_joint_beats_casa_on_drifting_gains(tmp_path):
    """Over six drifting EBs (72 fluxes) the joint estimator's rms deviation from the truth is at
    least 15 % below CASA's, and its worst no worse (measured: 0.326 % vs 0.423 %; seeds 1-3
    alone, the hardest for it, 0.41 % vs 0.45 %; the 21-EB benchmark: 0.190 % vs 0.714 %)."""
    devs = {"casa": [], "joint": []}
    for seed in (1, 2, 3, 4, 5, 6):
        ms = str(tmp_path / f"s{seed}" / "d.ms")
        truth = simulate(ms, "alma_band3_drift", seed=seed)
        st = run_recipe("gfluxscale", [ms], str(tmp_path / f"o{seed}"), weblog=False).ms["d.ms"]
        for name, f in st.fluxes.items():
            for s, v in f.spws.items():
                t = truth["fields"][name]["flux_per_spw"][int(s)]
                devs["casa"].append(v.casa_flux_jy / t - 1)
                devs["joint"].append(v.joint_flux_jy / t - 1)
                assert v.estimator == "joint" and v.error_total_jy > v.error_jy > 0
                assert v.error_reference_jy == pytest.approx(0.05 * v.flux_jy)   # flux.csv model: 5 %
        shutil.rmtree(tmp_path / f"s{seed}")
        shutil.rmtree(tmp_path / f"o{seed}")
    rms = {k: float(np.sqrt(np.mean(np.square(v)))) for k, v in devs.items()}
    assert rms["joint"] < 0.85 * rms["casa"], rms
    assert np.abs(devs["joint"]).max() <= np.abs(devs["casa"]).max()


def test_refspwmap_reaches_the_joint_estimator(tmp_path):
    """fluxtransfer.refspwmap=[0,0,0,0]: the joint estimator fits each spw's transfer solutions
    with the reference's spw-0 solutions, as CASA's fluxscale does: spw 0 is unchanged, the
    others move (this EB's gains differ between spws) and agree with CASA's mapped estimator
    within their errors. (Before, the joint estimator ignored the map.) The mapped estimate's
    error carries the spws' gain differences (as CASA's does: 0.018-0.027 Jy vs CASA's
    0.028-0.034), so the move is measured against the unmapped estimate's error."""
    ms = str(tmp_path / "b.ms")
    simulate(ms, "alma_band3", seed=4)
    got = {}
    for est in ("joint", "casa"):
        for m in ("[-1]", "[0,0,0,0]"):
            st = run_recipe("gfluxscale", [ms], str(tmp_path / f"{est}{len(m)}"),
                            [f"fluxtransfer.estimator={est}", f"fluxtransfer.refspwmap={m}"], weblog=False).ms["b.ms"]
            got[est, m] = st.fluxes["J0530+1331"].spws
    plain, mapped, casa = got["joint", "[-1]"], got["joint", "[0,0,0,0]"], got["casa", "[0,0,0,0]"]
    assert mapped[0].flux_jy == plain[0].flux_jy
    for s in (1, 2, 3):
        moved = abs(mapped[s].flux_jy - plain[s].flux_jy) / plain[s].error_jy
        assert moved > 3, (s, moved)
        assert 0.3 < mapped[s].error_jy / casa[s].error_jy < 3      # errors of CASA's size
        assert abs(mapped[s].flux_jy - casa[s].flux_jy) < 3 * np.hypot(mapped[s].error_jy, casa[s].error_jy)
