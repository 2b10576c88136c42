"""fluxpipe.heuristics.predict against CASA's ft, from stored CASA output
(tests/data/casa_ft_components.npz, written by benchmarks/casa_oracle/ft_components.py with CASA
6.7.0.31): a 1 Jy point 2" east, 1" north of the phase centre plus a 0.5 Jy 0.8" x 0.4" Gaussian
at PA 30 deg, on 8 channels near 100 GHz."""
import os

import numpy as np
import pytest

from fluxpipe.heuristics.predict import Components, predict

DATA = os.path.join(os.path.dirname(__file__), "data", "casa_ft_components.npz")
AS = np.pi / 180 / 3600


def _components(z):
    return Components(np.array([1.0, 0.5]), np.array([float(z["l"]), 0.0]), np.array([float(z["m"]), 0.0]),
                      np.array([0.0, 0.8 * AS]), np.array([0.0, 0.4 * AS]), np.array([0.0, np.radians(30)]))


def test_matches_casa_ft():
    z = np.load(DATA)
    got = 1.5 * predict(_components(z), z["uvw"], z["freq"])
    assert got.shape == z["model"].shape
    # CASA's MODEL_DATA is complex64: 1.5 Jy x 6e-8
    assert np.abs(got - z["model"]).max() < 1e-6
    # the opposite sign of the exponent is far off: the convention is pinned down
    flipped = Components(np.array([1.0, 0.5]), -_components(z).l, -_components(z).m, np.array([0.0, 0.8 * AS]),
                         np.array([0.0, 0.4 * AS]), np.array([0.0, np.radians(30)]))
    assert np.abs(1.5 * predict(flipped, z["uvw"], z["freq"]) - z["model"]).max() > 0.5


def test_chunks_and_normalisation():
    z = np.load(DATA)
    c = _components(z)
    whole = predict(c, z["uvw"], z["freq"])
    assert np.array_equal(predict(c, z["uvw"], z["freq"], budget=37), whole)     # 2 rows per chunk
    assert predict(c, np.zeros((1, 3)), z["freq"])[0] == pytest.approx(np.ones(len(z["freq"])))


def test_channel_recurrence_equals_direct_exponentials():
    """Evenly spaced channels use a phasor recurrence; 2000 channels of it against the direct
    exponentials (the same frequencies, one nudged by 1 Hz so that the direct path is taken)."""
    rng = np.random.default_rng(3)
    uvw = rng.normal(0, 3000, (50, 3))
    c = Components(rng.uniform(0.1, 1, 40), rng.normal(0, 5 * AS, 40), rng.normal(0, 5 * AS, 40),
                   np.r_[np.zeros(30), np.full(10, 1.0 * AS)], np.r_[np.zeros(30), np.full(10, 0.5 * AS)],
                   rng.uniform(0, np.pi, 40))
    f = 230e9 + 0.5e6 * np.arange(2000)
    g = f.copy()
    g[1000] += 1.0
    a, b = predict(c, uvw, f), predict(c, uvw, g)
    assert np.abs(a - b).max() < 1e-6
