import os
import shutil
import tarfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
NGC5921_TGZ = os.path.join(HERE, "data", "ngc5921.ms.tgz")


def extract(tgz: str, tmp_path_factory, name: str):
    d = tmp_path_factory.mktemp(name)
    with tarfile.open(tgz) as tf:
        tf.extractall(d, filter="data")
    return d


@pytest.fixture(scope="session")
def ngc5921_pristine(tmp_path_factory):
    """The real VLA NGC5921 MS, extracted once per session. Do not modify: copy it."""
    return str(extract(NGC5921_TGZ, tmp_path_factory, "ngc5921") / "ngc5921.ms")


@pytest.fixture
def ngc5921_copy(ngc5921_pristine, tmp_path):
    dst = tmp_path / "ngc5921.ms"
    shutil.copytree(ngc5921_pristine, dst)
    return str(dst)


@pytest.fixture(scope="session")
def small_sim(tmp_path_factory):
    """A small simulated MS (8 antennas, 2 spws x 8 channels) and its truth."""
    from fluxpipe.sim import simulate
    d = tmp_path_factory.mktemp("small")
    ms = str(d / "small.ms")
    truth = simulate(ms, "small", seed=7)
    return ms, truth


CASA_REF_TGZ = os.path.join(HERE, "data", "casa_reference.tgz")


@pytest.fixture(scope="session")
def casa_ref(tmp_path_factory):
    """CASA 6.7 reference outputs (see casa_reference/README.md inside the archive)."""
    return str(extract(CASA_REF_TGZ, tmp_path_factory, "casaref") / "casa_reference")


@pytest.fixture(scope="session")
def ngc5921_model(ngc5921_pristine, tmp_path_factory):
    """NGC5921 with MODEL_DATA as CASA's setjy writes it (3C286, Perley-Butler 2017)."""
    import numpy as np

    from fluxpipe.ms import read_metadata, select, write_model
    d = tmp_path_factory.mktemp("ngc_model")
    ms = str(d / "ngc5921.ms")
    shutil.copytree(ngc5921_pristine, ms)
    md = read_metadata(ms)
    coef = [1.2481, -0.4507, -0.1798, 0.0357]

    def pb(field, spw, freq, uvw):
        x = np.log10(freq / 1e9)
        return (10 ** sum(c * x ** i for i, c in enumerate(coef)))[:, None]
    write_model(md, select(md, field="0"), pb)
    return ms


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The demo's output (simulated band-3 MS, gfluxscale recipe, weblog)."""
    from fluxpipe.demo import run_demo
    d = tmp_path_factory.mktemp("demo")
    assert run_demo(str(d)) == 0
    return d / "run"
