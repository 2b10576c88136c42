"""`fluxpipe run --scheduler tcp://...`: one task per MS on a dask.distributed
cluster (a LocalCluster the test starts on 127.0.0.1, one worker running its tasks in three
threads: each task's state is its own Session); results, logs and failures come back to the one
Context exactly as in a serial run."""
import json
import os

import pytest
from clirun import cli

from fluxpipe import run_recipe
from fluxpipe.sim import simulate

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster
    c = LocalCluster(n_workers=1, threads_per_worker=3, processes=True, host="127.0.0.1",   # tasks in threads
                     dashboard_address=None)
    yield c.scheduler_address
    c.close()


IGNORED = {"seconds", "run_at", "cube_pass_s", "write_seconds", "fingerprint", "own_fingerprint", "keys"}  # timings; hashes of paths


def _strip(x, root: str):
    """What must agree between runs: everything but timings and path hashes, with the MS folder's path as ROOT."""
    if isinstance(x, dict):
        return {k: _strip(v, root) for k, v in x.items() if k not in IGNORED}
    if isinstance(x, list):
        return [_strip(v, root) for v in x]
    return x.replace(root, "ROOT") if isinstance(x, str) else x


def test_cluster_run_equals_serial(cluster, tmp_path):
    runs = {}
    for run in ("serial", "dask"):        # the same three EBs (same seeds) for each run
        runs[run] = []
        for seed, name in ((1, "a"), (2, "b"), (3, "c")):
            ms = str(tmp_path / f"ms_{run}" / name / f"{name}.ms")
            simulate(ms, "small", seed=seed)
            runs[run].append(ms)
    run_recipe("gfluxscale", runs["serial"], str(tmp_path / "serial"), weblog=False)
    r = cli("-v", "run", "gfluxscale", *runs["dask"], "--out", str(tmp_path / "dask"), "--scheduler", cluster)
    assert r.returncode == 0, r.stderr
    for name in ("fluxes.json", "crosseb.json"):
        assert json.load(open(tmp_path / "dask" / name)) == json.load(open(tmp_path / "serial" / name))
    a = json.load(open(tmp_path / "dask" / "context.json"))
    b = json.load(open(tmp_path / "serial" / "context.json"))
    for k in ("results", "ms", "recipe", "version"):
        assert _strip(a[k], str(tmp_path / "ms_dask")) == _strip(b[k], str(tmp_path / "ms_serial")), k
    for n in ("a.ms", "b.ms", "c.ms"):          # each worker's log comes back under its MS's name
        assert f"[{n}] {n}: fluxtransfer done" in r.stderr
    assert os.path.exists(tmp_path / "dask" / "weblog" / "index.html")
    assert not [f for f in os.listdir(tmp_path / "dask") if f.startswith("context.") and f != "context.json"]


def test_cluster_failure_keeps_the_others(cluster, tmp_path):
    good, bad = str(tmp_path / "g" / "s.ms"), str(tmp_path / "b" / "t.ms")
    simulate(good, "small", seed=1)
    simulate(bad, "small", seed=2)
    (tmp_path / "b" / "flux.csv").write_text("ms,field,spw,I\nt.ms,J0423-0120,0,-1\n")
    r = cli("-q", "run", "gfluxscale", good, bad, "--out", str(tmp_path / "o"), "--scheduler", cluster)
    assert r.returncode == 1 and "t.ms" in r.stderr and r.stderr.strip().count("\n") == 0
    fl = json.load(open(tmp_path / "o" / "fluxes.json"))
    assert fl["s.ms"]["J0530+1331"]["spws"]["0"]["flux_jy"] > 0
    ctx = json.load(open(tmp_path / "o" / "context.json"))
    assert any(rec["ms"] == "t.ms" and not rec["ok"] for rec in ctx["results"])


def test_bad_scheduler_address(tmp_path):
    ms = str(tmp_path / "a" / "a.ms")
    simulate(ms, "small", seed=1)
    r = cli("run", "gfluxscale", ms, "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:1")
    assert r.returncode == 1 and "--scheduler tcp://127.0.0.1:1" in r.stderr and r.stderr.strip().count("\n") == 0


@pytest.mark.parametrize("mode", [[], ["--parallel", "2"]])
def test_failing_ms_first_never_stops_the_others(tmp_path, mode):
    """Serial = parallel: [a failing MS, a good MS] keeps the good MS's fluxes and weblog; exit 1
    with one line that names the failing MS and says what is complete."""
    bad, good = str(tmp_path / "b" / "t.ms"), str(tmp_path / "g" / "s.ms")
    simulate(bad, "small", seed=2)
    simulate(good, "small", seed=1)
    (tmp_path / "b" / "flux.csv").write_text("ms,field,spw,I\nt.ms,J0423-0120,0,-1\n")
    r = cli("-q", "run", "gfluxscale", bad, good, "--out", str(tmp_path / "o"), *mode)
    assert r.returncode == 1 and r.stderr.strip().count("\n") == 0, r.stderr
    assert "t.ms: stage 2 (setmodel) failed" in r.stderr and "the results of s.ms are complete" in r.stderr
    fl = json.load(open(tmp_path / "o" / "fluxes.json"))
    assert fl["s.ms"]["J0530+1331"]["spws"]["0"]["flux_jy"] > 0
    html = open(tmp_path / "o" / "weblog" / "index.html").read()
    assert 'data-ms="s.ms"' in html and "setmodel failed" in html
