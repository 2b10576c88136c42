"""A faint calibrator (alma_band3_faint1: a 0.02 Jy check source, about 1 sigma per baseline,
integration, polarisation and spw, with a dispersive phase and random-walk gains) over many
seeds: the default chain's transfer flux is unbiased within 0.2 of its reported error; CASA's
chain (gfluxscale_casa: 'int' phase-up per spw, calmode 'a') is several per cent high."""
import os
import shutil

import numpy as np
import pytest

from fluxpipe import run_recipe
from fluxpipe.sim import simulate

SEEDS = range(1, 9)
FAINT = "J0541+1527"


def test_faint_check_source_is_unbiased(tmp_path):
    ours, casa, err, choice = [], [], [], []
    for seed in SEEDS:
        ms = str(tmp_path / f"s{seed}" / "f.ms")
        truth = simulate(ms, "alma_band3_faint1", seed=seed)
        true = truth["fields"][FAINT]["flux_per_spw"]
        ctx = run_recipe("gfluxscale", [ms], str(tmp_path / f"o{seed}"), weblog=False)
        st = ctx.ms["f.ms"]
        v = st.fluxes[FAINT].spws
        ours.append(np.mean([v[s].flux_jy / true[s] - 1 for s in v]))
        err += [v[s].error_jy / v[s].flux_jy for s in v]
        rec = next(r for r in ctx.results if r.stage == "phaseup")
        choice.append({c["field"]: (c["solint"], c["combine"], c["gaintype"]) for c in rec.summary["choices"]})
        c = run_recipe("gfluxscale_casa", [ms], str(tmp_path / f"c{seed}"), weblog=False).ms["f.ms"].fluxes[FAINT].spws
        casa.append(np.mean([c[s].flux_jy / true[s] - 1 for s in c]))
        for d in (f"s{seed}", f"o{seed}", f"c{seed}"):        # 0.35 GB an EB: keep the disk use bounded
            shutil.rmtree(tmp_path / d)
    ours, casa = np.array(ours), np.array(casa)
    se = lambda x: x.std(ddof=1) / np.sqrt(len(x))  # noqa: E731   (per-EB means: spws share an EB's gains)
    # the faint field needs the spws combined; the bright ones are solved per spw and integration
    assert all(ch[FAINT][1] and ch[FAINT][2] == "T" for ch in choice), choice
    assert all(ch["J0530+1331"] == ("int", False, "G") for ch in choice), choice
    assert abs(ours.mean()) <= 0.2 * np.median(err) + 2 * se(ours), (ours.mean(), np.median(err), se(ours))
    assert casa.mean() > 0.03 and casa.mean() > 5 * se(casa), (casa.mean(), se(casa))
    print(f"faint check, {len(ours)} EBs: default {100 * ours.mean():+.3f} % +- {100 * se(ours):.3f} "
          f"(median error {100 * np.median(err):.2f} %); CASA's chain {100 * casa.mean():+.2f} % +- {100 * se(casa):.2f}")


def test_casa_chain_at_low_snr_is_casas(tmp_path):
    """gfluxscale_casa on small_lowsnr (a 0.03 Jy and a 0.01 Jy calibrator: 1.6 and 0.5 sigma
    per baseline, integration and polarisation) against CASA 6.7's own chain on the same MS
    (benchmarks/casa_oracle/chain_lowsnr.py, stored): setjy, gaincal 'p' int (44 % of the
    faint field's solutions below minsnr 2), gaincal 'a' inf with the phase table applied
    (CASA flags the data of flagged solutions: ampsolve.flagged_solutions 'flag'), fluxscale.
    Measured: every flux within 1.1e-4 of CASA's, errors within 3e-3; the check source comes
    out 2.4-3.1x its true flux in both. Without CASA's solver and flag rule it came out 0.4-0.6
    of CASA's."""
    import json
    ref = json.load(open(os.path.join(os.path.dirname(__file__), "data", "casa_chain_lowsnr.json")))
    ms = str(tmp_path / "l1.ms")
    simulate(ms, "small_lowsnr", seed=1)
    st = run_recipe("gfluxscale_casa", [ms], str(tmp_path / "o"), weblog=False).ms["l1.ms"]
    assert st.refants[:3] == [0, 4, 7]           # the list the oracle was given (DV01,DV03,DA48,...)
    for fld, spws in ref["fluxes"].items():
        for s, (flux, err) in spws.items():
            v = st.fluxes[fld].spws[int(s)]
            assert v.flux_jy == pytest.approx(flux, rel=5e-4), (fld, s)
            assert v.error_jy == pytest.approx(err, rel=5e-3), (fld, s)


def test_casa_chain_on_faint1_is_casas(tmp_path):
    """gfluxscale_casa on alma_band3_faint1 seed 1 (25 antennas; the 0.02 Jy check at 1 sigma per
    baseline, integration, polarisation and spw) against CASA 6.7's chain (same oracle as above,
    refants DV03,DA52,...; stored). 11 of the 12 fluxes equal CASA's within 1.3e-5. The twelfth
    (J0541+1527 spw 0) is 1.1e-3 off: CASA compares data and solution times in float32 seconds,
    and one data time (2794 s into the track) rounds a step off its own solution's, so CASA
    interpolates between it and the next solution, which is flagged, and flags those data of
    antenna DA62 (checked on CASA's table); fluxpipe takes a time within 1 ms as its solution's."""
    import json
    ref = json.load(open(os.path.join(os.path.dirname(__file__), "data", "casa_chain_faint1.json")))
    ms = str(tmp_path / "f.ms")
    truth = simulate(ms, "alma_band3_faint1", seed=1)
    st = run_recipe("gfluxscale_casa", [ms], str(tmp_path / "o"), weblog=False).ms["f.ms"]
    assert [truth["antennas"][a] for a in st.refants[:3]] == ["DV03", "DA52", "DV01"]
    dev = {(f, int(s)): st.fluxes[f].spws[int(s)].flux_jy / fe[0] - 1 for f, spws in ref["fluxes"].items()
           for s, fe in spws.items()}
    assert len(dev) == 12 and max(abs(d) for d in dev.values()) < 2e-3
    assert sorted(k for k, d in dev.items() if abs(d) > 5e-5) == [(FAINT, 0)]
