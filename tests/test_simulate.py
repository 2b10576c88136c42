"""The simulator reproduces its truth: DATA = g_i g_j* M + noise with the stated SIGMA."""
import json

import numpy as np
import pytest
from casacore.tables import table

from fluxpipe.fluxcsv import read_flux_csv
from fluxpipe.ms import iter_chunks, read_metadata, select
from fluxpipe.sim import gains_at, simulate, source_flux


def residuals(md, truth, field, spw):
    out, sig = [], []
    src = truth["fields"][field]
    for c in iter_chunks(md, select(md, field=field, spw=str(spw))):
        g = gains_at(truth, c.time)[:, :, :, spw]
        r = np.arange(len(c.time))
        pred = (g[r, c.antenna1] * np.conj(g[r, c.antenna2]))[:, None, :] * \
            source_flux(src, c.chan_freq)[None, :, None]
        out.append((c.data - pred)[~c.flag])
        sig.append(1 / np.sqrt(c.weight[~c.flag]))
    return np.concatenate(out), np.concatenate(sig)


def test_round_trip_within_noise(small_sim):
    ms, truth = small_sim
    md = read_metadata(ms)
    for field in ("J0423-0120", "J0530+1331"):
        for spw in (0, 1):
            res, sig = residuals(md, truth, field, spw)
            z = np.concatenate([res.real / sig, res.imag / sig])
            # unit-variance normal residuals: std within 5 sigma of its sampling error, mean ~ 0
            assert abs(z.std() - 1) < 5 / np.sqrt(2 * z.size), (field, spw)
            assert abs(z.mean()) < 5 / np.sqrt(z.size)
            assert np.allclose(sig, truth["noise_sigma_per_spw"][spw], rtol=1e-6)


def test_truth_file_and_catalogue(small_sim):
    ms, truth = small_sim
    on_disk = json.load(open(ms + ".truth.json"))
    assert on_disk["fields"].keys() == truth["fields"].keys()
    rows = read_flux_csv(str(__import__("pathlib").Path(ms).parent / "flux.csv"))
    by = {(r.field, r.spw): r.I for r in rows}
    for name, src in truth["fields"].items():
        for spw in (0, 1):
            if src["intent"] == "TARGET":
                assert (name, spw) not in by
                continue
            ratio = by[(name, spw)] / src["flux_per_spw"][spw]
            if src["intent"] == "AMPLITUDE":
                assert ratio == pytest.approx(1.0, abs=1e-6)
            else:
                assert 0.94 < ratio < 1.06


def test_faults(tmp_path):
    ms = str(tmp_path / "f.ms")
    truth = simulate(ms, "small", seed=3, faults={
        "flagged_antenna": 2, "dead_pol": {"antenna": 5, "pol": 1},
        "amp_drop": {"antenna": 4, "scan": 2, "factor": 0.3}})
    t = table(ms, ack=False)
    a1, a2, flag = t.getcol("ANTENNA1"), t.getcol("ANTENNA2"), t.getcol("FLAG")
    on2 = (a1 == 2) | (a2 == 2)
    assert flag[on2].all() and not flag[~on2].any()
    data, scan = t.getcol("DATA"), t.getcol("SCAN_NUMBER")
    sigma = truth["noise_sigma_per_spw"][0]
    on5 = ((a1 == 5) | (a2 == 5)) & ~on2
    # the dead polarisation (YY of antenna 5) holds noise only: rms ~ sqrt(2) sigma
    assert np.sqrt(np.mean(np.abs(data[on5][:, :, 1]) ** 2)) == pytest.approx(np.sqrt(2) * sigma, rel=0.05)
    assert np.abs(data[on5][:, :, 0]).mean() > 5 * sigma
    # antenna 4's amplitudes drop by 0.3 in scan 2 only (compare |V| on its baselines with others)
    on4 = ((a1 == 4) | (a2 == 4)) & ~on2 & ~on5
    ratio = np.abs(data[on4 & (scan == 2)]).mean() / np.abs(data[on4 & (scan == 4)]).mean()
    assert 0.2 < ratio < 0.4   # scans 2 and 4 are the same phase calibrator
    t.close()


def test_disk_visibility():
    from fluxpipe.heuristics.resolved import disk_visibility
    assert disk_visibility(np.array([0.0]), 1e-5)[0] == 1.0
    # uniform disk first null at x = 3.8317
    theta = np.deg2rad(1.6 / 3600)
    q0 = 3.8317 / (np.pi * theta)
    assert abs(disk_visibility(np.array([q0]), theta)[0]) < 1e-4
    # limb darkening concentrates brightness centrally: its first null lies beyond the
    # uniform disk's, so at the uniform null the limb-darkened visibility is still positive
    v = disk_visibility(np.array([q0]), theta, 0.3)[0]
    assert 0.02 < v < 0.2
    # small-x expansion: V ~ 1 - x^2 / (4 (limb + 2)) for limb-darkened disks (limb=0: 1 - x^2/8)
    x = 0.05
    assert disk_visibility(np.array([x / (np.pi * theta)]), theta, 0.3)[0] == pytest.approx(
        1 - x ** 2 / (4 * 2.3), abs=1e-7)


def test_rerun_with_another_seed_replaces_its_catalogue_rows(tmp_path):
    """A second simulation of the same MS name replaces the simulator's own flux.csv rows (no
    row of the first seed survives); a row the user added stays."""
    ms = str(tmp_path / "a" / "s.ms")
    simulate(ms, "small", seed=1)
    csv = tmp_path / "a" / "flux.csv"
    with open(csv, "a") as fh:
        fh.write("s.ms,J0530+1331,7,2.5,0,0,0,0,,,# my own row\n")
    simulate(ms, "small", seed=2)
    ref = str(tmp_path / "b" / "s.ms")          # the same seed in a folder of its own
    simulate(ref, "small", seed=2)
    got = {r.key: (r.I, r.comment) for r in read_flux_csv(str(csv))}
    want = {r.key: (r.I, r.comment) for r in read_flux_csv(str(tmp_path / "b" / "flux.csv"))}
    assert got.pop(("s.ms", "J0530+1331", 7)) == (2.5, "# my own row")
    assert got == want and all("seed=2" in c for _, c in got.values())
