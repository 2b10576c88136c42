import os
import shutil
import tarfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
NGC5921_TGZ = os.path.join(HERE, "data", "ngc5921.ms.tgz")


@pytest.fixture(scope="session")
def ngc5921_pristine(tmp_path_factory):
    """The real VLA NGC5921 MS, extracted once per session. Do not modify: copy it."""
    d = tmp_path_factory.mktemp("ngc5921")
    with tarfile.open(NGC5921_TGZ) as tf:
        tf.extractall(d, filter="data")
    return str(d / "ngc5921.ms")


@pytest.fixture
def ngc5921_copy(ngc5921_pristine, tmp_path):
    dst = tmp_path / "ngc5921.ms"
    shutil.copytree(ngc5921_pristine, dst)
    return str(dst)


@pytest.fixture(scope="session")
def small_sim(tmp_path_factory):
    """A small simulated MS (8 antennas, 2 spws x 8 channels) and its truth."""
    from pipeline.simulate import simulate
    d = tmp_path_factory.mktemp("small")
    ms = str(d / "small.ms")
    truth = simulate(ms, "small", seed=7)
    return ms, truth
