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


def _start(kind: str, sched_file, cwd):
    import subprocess
    import sys
    import time
    cmd = ([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
            "--dashboard-address", ":0", "--scheduler-file", str(sched_file)] if kind == "scheduler" else
           [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(sched_file),
            "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1", "--dashboard-address", ":0"])
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        if kind == "worker" or sched_file.exists():
            break
        time.sleep(0.05)
    return p


@pytest.mark.parametrize("victim", ["worker", "scheduler"])
def test_lost_worker_or_scheduler_keeps_what_finished(tmp_path, victim):
    """A cluster run over a quick and a slow EB, given by relative paths (resolved by the client,
    not on the worker, whose working directory is elsewhere); the only worker or the scheduler
    is killed while the slow EB runs: exit 1 with one line naming what did not finish, the quick
    EB's fluxes kept; --resume (here serially) completes the other."""
    import signal
    import time
    (tmp_path / "w").mkdir()
    simulate(str(tmp_path / "q" / "q.ms"), "small", seed=1)
    simulate(str(tmp_path / "s" / "s.ms"), "alma_band3", seed=1, duration_scale=3)
    sf = tmp_path / "scheduler.json"
    sched = _start("scheduler", sf, tmp_path / "w")
    worker = _start("worker", sf, tmp_path / "w")
    addr = json.load(open(sf))["address"]
    try:
        import subprocess
        import sys
        env = dict(os.environ, FLUXPIPE_WORKER_TIMEOUT="5")
        run = subprocess.Popen([sys.executable, "-m", "fluxpipe.cli", "-q", "run", "gfluxscale", "q/q.ms", "s/s.ms",
                                "--out", "o", "--scheduler", addr], cwd=tmp_path, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        t0 = time.time()
        while time.time() - t0 < 60 and not list((tmp_path / "o").glob("q.ms.fluxscaled.tbl")):
            time.sleep(0.1)
        time.sleep(1.0)                                           # the slow EB is running now
        (worker if victim == "worker" else sched).send_signal(signal.SIGKILL)
        out, err = run.communicate(timeout=120)
    finally:
        for p in (worker, sched):
            p.kill()
    assert run.returncode == 1 and err.strip().count("\n") == 0, err
    assert "s.ms" in err and "did not finish" in err and "rerun with --resume" in err, err
    assert ("lost the scheduler" in err) == (victim == "scheduler")
    fl = json.load(open(tmp_path / "o" / "fluxes.json"))
    assert fl["q.ms"]["J0530+1331"]["spws"]["0"]["flux_jy"] > 0
    r = cli("-q", "run", "gfluxscale", "q/q.ms", "s/s.ms", "--out", "o", "--resume", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.load(open(tmp_path / "o" / "fluxes.json"))["s.ms"]["J0530+1331"]["spws"]["0"]["flux_jy"] > 0
