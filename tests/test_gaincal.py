"""gaincal on simulated data (against truth) and on CASA's reference data (against CASA)."""
import os

import numpy as np
import pytest
from casacore.tables import table

from fluxpipe.caltable import read_caltable
from fluxpipe.errors import InputsError, NoDataError
from fluxpipe.gaincal import gaincal, parse_solint
from fluxpipe.sim import gains_at, source_flux


def true_model(truth):
    names = list(truth["fields"])

    def model(field, spw, freq, uvw):
        return source_flux(truth["fields"][names[field]], freq)[None, :]
    return model


def test_phaseup_and_amp_against_truth(small_sim, tmp_path):
    ms, truth = small_sim
    model = true_model(truth)
    ph = gaincal(ms, str(tmp_path / "ph.G"), field="0,1", solint="int", calmode="p",
                 refant="DV01", minblperant=2, minsnr=2, model=model)
    ct = ph.table
    assert not ct.flag.any() and set(ct.antenna2) == {0}
    g = gains_at(truth, ct.time)                                  # (row, ant, pol, spw)
    r = np.arange(len(ct.time))
    gt = g[r, ct.antenna1, :, ct.spw_id]
    gref = g[r, 0, :, ct.spw_id]
    dph = np.angle(ct.cparam[:, 0, :] * np.conj(gt) * gref / np.abs(gref) * np.abs(gt))
    z = np.abs(dph) / (ct.paramerr[:, 0, :] / np.abs(ct.cparam[:, 0, :]))
    assert np.sqrt(np.mean(z ** 2)) < 1.5 and z.max() < 6      # errors describe the scatter

    amp = gaincal(ms, str(tmp_path / "amp.T"), field="0,1", solint="inf", gaintype="T",
                  calmode="a", refant="DV01", minblperant=2, minsnr=2, model=model,
                  gaintable=[str(tmp_path / "ph.G")])
    at = amp.table
    assert at.cparam.shape[1:] == (1, 1) and not at.flag.any()
    # truth: polarisation-averaged gain amplitude over the scan
    scans = {s["scan"]: s for s in truth["scans"]}
    want = []
    for _t, a, s, sc in zip(at.time, at.antenna1, at.spw_id, at.scan):
        tt = np.linspace(scans[sc]["start"], scans[sc]["end"], 20)
        want.append(np.abs(gains_at(truth, tt)[:, a, :, s]).mean())
    z = (np.abs(at.cparam[:, 0, 0]) - np.array(want)) / at.paramerr[:, 0, 0]
    assert np.sqrt(np.mean(z ** 2)) < 2.0 and np.abs(z).max() < 6


@pytest.mark.parametrize("solver", ["casa", "converged"])
@pytest.mark.parametrize("case", ["ngc5921", "dev_band7"])
def test_matches_casa(case, solver, casa_ref, ngc5921_model, tmp_path):
    """Against CASA 6.7's tables. Errors and SNRs: measured within 7.1e-5 with CASA's iterations,
    1.3e-3 with the converged solver (dev_band7's phase-up)."""
    if case == "ngc5921":
        ms, ref, pref, tables = ngc5921_model, "15", "ngc5921", [("amp.T", "T")]
        fields = "0,1"
    else:
        ms = os.path.join(casa_ref, "dev_band7", "dev_band7.ms")
        ref, pref, tables, fields = "DV01", "dev_band7", [("amp.T", "T"), ("amp.G", "G")], ""
    d = os.path.join(casa_ref, case)
    ph = gaincal(ms, str(tmp_path / "ph.G"), field=fields, solint="int", calmode="p", refant=ref,
                 minblperant=2, minsnr=2, model="column", solver=solver)
    out = [(ph.table, read_caltable(os.path.join(d, f"{pref}.phase.G")))]
    for name, gt in tables:
        r = gaincal(ms, str(tmp_path / name), field=fields, solint="inf", gaintype=gt, calmode="a",
                    refant=ref, minblperant=2, minsnr=2, model="column",
                    gaintable=[str(tmp_path / "ph.G")], solver=solver)
        out.append((r.table, read_caltable(os.path.join(d, f"{pref}.{name}"))))
    for mine, casa in out:
        assert len(mine.time) == len(casa.time)
        ka = np.lexsort((mine.antenna1, mine.spw_id, mine.field_id, np.round(mine.time, 1)))
        kb = np.lexsort((casa.antenna1, casa.spw_id, casa.field_id, np.round(casa.time, 1)))
        assert np.allclose(mine.time[ka], casa.time[kb], atol=0.05)
        assert np.array_equal(mine.antenna1[ka], casa.antenna1[kb])
        assert np.array_equal(mine.antenna2[ka], casa.antenna2[kb])
        assert np.array_equal(mine.flag[ka], casa.flag[kb])           # same flagged solutions
        ok = ~casa.flag[kb]
        dg = np.abs(mine.cparam[ka] - casa.cparam[kb])[ok]
        assert (dg / casa.paramerr[kb][ok]).max() < 0.05             # well within own errors
        rtol = 2e-4 if solver == "casa" else 0.01
        assert np.allclose(mine.paramerr[ka][ok], casa.paramerr[kb][ok], rtol=rtol)
        assert np.allclose(mine.snr[ka][ok], casa.snr[kb][ok], rtol=rtol)


def test_caltable_layout_matches_casa(casa_ref, ngc5921_model, tmp_path):
    out = str(tmp_path / "amp.T")
    gaincal(ngc5921_model, out, field="0,1", gaintype="T", calmode="a", refant="15",
            minblperant=2, minsnr=2, model="column")
    ref = os.path.join(casa_ref, "ngc5921", "ngc5921.amp.T")
    a, b = table(out, ack=False), table(ref, ack=False)
    assert a.info() == b.info()
    assert a.colnames() == b.colnames()
    assert all(a.getcoldesc(c) == b.getcoldesc(c) for c in b.colnames())
    ka, kb = a.getkeywords(), b.getkeywords()
    for k in ("ParType", "MSName", "VisCal", "PolBasis"):
        assert ka[k] == kb[k]
    assert {k for k in kb if kb[k].__class__ is str and kb[k].startswith("Table:")} <= set(ka)
    for sub in ("SPECTRAL_WINDOW", "ANTENNA", "FIELD", "OBSERVATION", "HISTORY"):
        sa, sb = table(f"{out}/{sub}", ack=False), table(f"{ref}/{sub}", ack=False)
        assert sa.colnames() == sb.colnames() and sa.nrows() == sb.nrows(), sub
    sa, sb = table(f"{out}/SPECTRAL_WINDOW", ack=False), table(f"{ref}/SPECTRAL_WINDOW", ack=False)
    for c in ("CHAN_FREQ", "CHAN_WIDTH", "EFFECTIVE_BW", "RESOLUTION", "TOTAL_BANDWIDTH", "NUM_CHAN"):
        assert np.allclose(sa.getcol(c), sb.getcol(c)), c
    assert not a.iscelldefined("WEIGHT", 0) and (a.getcol("INTERVAL") == 0).all()
    # round trip through our reader
    ct = read_caltable(out)
    assert ct.viscal == "T Jones" and ct.cparam.shape == (140, 1, 1)


def test_bad_inputs(small_sim, tmp_path):
    ms, _ = small_sim
    with pytest.raises(InputsError, match="solint 'often'"):
        gaincal(ms, field="0", solint="often")
    with pytest.raises(InputsError, match="refant: antenna 'XX99'"):
        gaincal(ms, field="0", refant="XX99")
    with pytest.raises(NoDataError, match="no data selected"):
        gaincal(ms, field="0", selectdata={"uvrange": "<1m"})
    with pytest.raises(InputsError, match="solver 'CASA6'"):
        gaincal(ms, field="0", solver="CASA6")
    with pytest.raises(InputsError, match="flagged_solutions 'skip'"):
        gaincal(ms, field="0", flagged_solutions="skip")
    assert parse_solint("2min") == 120 and parse_solint("int") == "int"
    # all data flagged -> no unflagged solutions
    import shutil
    ms2 = str(tmp_path / "flagged.ms")
    shutil.copytree(ms, ms2)
    t = table(ms2, ack=False, readonly=False)
    t.putcol("FLAG_ROW", np.ones(t.nrows(), bool))
    t.close()
    with pytest.raises(NoDataError, match="no unflagged solutions"):
        gaincal(ms2, field="0")


def _stored(npz: str, prefix: str) -> dict:
    """One case of a stored CASA table (benchmarks/casa_oracle): column name -> array."""
    z = np.load(os.path.join(os.path.dirname(__file__), "data", npz))
    return {k.split("/")[1]: z[k] for k in z.files if k.startswith(prefix + "/")}


def _matched(ct, c: dict, ndigits: int):
    """Rows of our table (i) and CASA's (j) for the same (time rounded to ndigits, field, spw,
    antenna), after checking both tables have the same solutions; and each pair's field."""
    key = lambda t, f, s, a: {(round(x, ndigits), int(b), int(d), int(e)): i  # noqa: E731
                              for i, (x, b, d, e) in enumerate(zip(t, f, s, a))}
    mine = key(ct.time, ct.field_id, ct.spw_id, ct.antenna1)
    casa = key(c["TIME"], c["FIELD_ID"], c["SPECTRAL_WINDOW_ID"], c["ANTENNA1"])
    assert set(mine) == set(casa)
    k = sorted(mine)
    return np.array([mine[x] for x in k]), np.array([casa[x] for x in k]), np.array([x[1] for x in k])


@pytest.mark.parametrize("solver", ["casa", "converged"])
@pytest.mark.parametrize("mode", ["flex", "strict"])
def test_low_snr_phaseup_matches_casa(mode, solver, tmp_path):
    """gaincal at low SNR (small_lowsnr: 1.6 and 0.5 sigma per baseline, integration and
    polarisation on the two faint fields) against CASA 6.7's stored table
    (benchmarks/casa_oracle/gaincal_lowsnr.py). CASA keeps SNR > minsnr and re-references each
    interval to a refant unflagged in it and in the last referenced one, flagging the interval
    when none connects ('strict': only the first refant). solver='casa' follows CASA's
    iterations (heuristics.casasolve) and gives CASA's table: every flag, SNRs to float
    precision (measured 7.6e-6), phases to 2.4e-6 rad. The converged solver (the default)
    iterates further, and at low SNR that moves SNRs near the threshold: measured, flex: 4.7 %
    and 4.1 % of the faint fields' flags differ; strict: 4.3 % and 1.9 % (it flags a whole
    interval with its refant, 16 flags at once)."""
    from fluxpipe.sim import simulate
    c = _stored("casa_gaincal_lowsnr.npz", mode)
    ms = str(tmp_path / "l.ms")
    simulate(ms, "small_lowsnr", seed=1)
    ct = gaincal(ms, field="0,1,2", solint="int", calmode="p", refant="0", minsnr=3.0, gaintype="G",
                 refantmode=mode, solver=solver).table
    i, j, field = _matched(ct, c, 2)
    if solver == "casa":
        fo, fc = ct.flag[i, 0, :], c["FLAG"][j]
        assert np.array_equal(fo, fc)
        so, sc = ct.snr[i, 0, :], c["SNR"][j]
        assert np.array_equal(so > 0, sc > 0)
        assert np.abs(so[sc > 0] / sc[sc > 0] - 1).max() < 5e-5
        dph = np.angle(np.exp(1j * (np.angle(ct.cparam[i, 0, :]) - c["PHASE"][j])))
        assert np.abs(dph[~fo]).max() < 5e-5
        return
    for f, flag_tol, frac_tol in ((0, 0.0, 0.0), (1, 0.06, 0.02 if mode == "flex" else 0.05), (2, 0.05, 0.02)):
        m = field == f
        fo, fc = ct.flag[i[m], 0, :], c["FLAG"][j[m]]
        so, sc = ct.snr[i[m], 0, :], c["SNR"][j[m]]
        assert (fo != fc).mean() <= flag_tol, (f, (fo != fc).mean())
        assert abs(fo.mean() - fc.mean()) <= frac_tol, (f, fo.mean(), fc.mean())
        assert abs(np.median(so / sc) - 1) < (1e-5 if f == 0 else 0.01), (f, np.median(so / sc))
    # the bright field agrees exactly, phases included
    m = field == 0
    dph = np.angle(np.exp(1j * (np.angle(ct.cparam[i[m], 0, :]) - c["PHASE"][j[m]])))
    assert np.abs(dph).max() < 1e-4


@pytest.mark.parametrize("case", ["seed2_G_int_p", "T_int_p", "G_30s_p", "G_inf_ap", "carma_G_int_p",
                                  "carma_T_20s_p"])
def test_low_snr_cases_match_casa(case, tmp_path):
    """solver='casa' against CASA 6.7 on low-SNR data it was not written against
    (benchmarks/casa_oracle/gaincal_lowsnr_cases.py): another noise draw, gaintype T (CASA's
    TJones guess leaves out the interval's first row), 30-s averaging, calmode 'ap', and a
    CARMA-like EB (few_antennas: 8 antennas, 8 spws, 1 %/min amplitude walks; its 0.05 Jy
    target at SNR ~2 per integration). Every flag equal, SNR and gains to float precision."""
    import importlib.util

    from fluxpipe.sim import simulate
    spec = importlib.util.spec_from_file_location("cases", os.path.join(
        os.path.dirname(__file__), "..", "benchmarks", "casa_oracle", "gaincal_lowsnr_cases.py"))
    oracle = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(oracle)            # its CASES only (casatasks is imported under __main__)
    CASES = oracle.CASES
    c = _stored("casa_gaincal_lowsnr_cases.npz", case)
    name, kw = CASES[case]
    preset, seed = {"l1.ms": ("small_lowsnr", 1), "l2.ms": ("small_lowsnr", 2), "fa.ms": ("few_antennas", 1)}[name]
    ms = str(tmp_path / name)
    simulate(ms, preset, seed=seed)
    ct = gaincal(ms, refant="0", minblperant=4, refantmode="flex", solver="casa", **kw).table
    i, j, _ = _matched(ct, c, 1)
    fo, fc = ct.flag[i, 0, :], c["FLAG"][j]
    assert 0.02 < fc.mean() < 0.98                  # the case does sit at the threshold
    assert np.array_equal(fo, fc)
    so, sc = ct.snr[i, 0, :], c["SNR"][j]
    assert np.array_equal(so > 0, sc > 0)
    assert np.abs(so[sc > 0] / sc[sc > 0] - 1).max() < 2e-4
    assert np.abs(ct.cparam[i, 0, :] - c["CPARAM"][j])[~fo].max() < 1e-4
