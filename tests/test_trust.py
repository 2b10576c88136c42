"""Trustworthy runs: a bad-input and fault matrix through the CLI (exit code, one line
naming the fix, every file of the MS byte-identical), locks, identity, resume by fingerprint,
and a SIGKILL during write-back."""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from casacore.tables import table
from clirun import cli

from fluxpipe import run_recipe
from fluxpipe.sim import simulate


def checksums(ms: str) -> dict:
    out = {}
    for root, _, files in os.walk(ms):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, ms)] = hashlib.sha256(fh.read()).hexdigest()
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    d = tmp_path_factory.mktemp("trust")
    ms = str(d / "s.ms")
    simulate(ms, "small", seed=5)
    return d, ms


def _recipe(d, name, text):
    p = d / name
    p.write_text(text)
    return str(p)


def _holder(path):
    """Hold a fluxpipe-style lock on `path` from another process, as a running fluxpipe would."""
    code = ("import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
            "fcntl.flock(fd, fcntl.LOCK_EX); os.ftruncate(fd, 0); "
            "os.write(fd, f'{os.getpid()}\\tfluxpipe run gfluxscale other.ms'.encode()); "
            "print('locked', flush=True); time.sleep(60)")
    p = subprocess.Popen([sys.executable, "-c", code, path], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


def matrix(d, ms):
    """(name, argv, expected stderr fragment that names the fix)."""
    out = str(d / "o")
    csv = lambda name, text: _recipe(d, name, text)  # noqa: E731
    header = "ms,field,spw,I,Q,U,V,spix,uvmin,uvmax,comment\n"
    return [
        ("no such MS", ["run", "gfluxscale", str(d / "nothere.ms"), "--out", out], "is not a MeasurementSet"),
        ("MS is a file", ["run", "gfluxscale", str(d / "recipe_ok.yaml"), "--out", out], "is not a MeasurementSet"),
        ("unknown recipe", ["run", "nosuchrecipe", ms, "--out", out], "recipe 'nosuchrecipe' not found"),
        ("recipe YAML syntax", ["run", csv("bad.yaml", "stages: [ {setmodel: {}\n"), ms, "--out", out], "is not valid YAML at line"),
        ("recipe item with two keys", ["run", csv("two.yaml", "stages:\n  - {setmodel: {}, phaseup: {}}\n"), ms, "--out", out], "has 2 keys"),
        ("recipe without stages", ["run", csv("nostages.yaml", "name: x\n"), ms, "--out", out], "needs a 'stages:' list"),
        ("recipe unknown stage", ["run", csv("unk.yaml", "stages:\n  - setmodelx: {}\n"), ms, "--out", out], "unknown stage 'setmodelx'; valid stages:"),
        ("recipe params not a mapping", ["run", csv("pm.yaml", "stages:\n  - setmodel: 3\n"), ms, "--out", out], "must be a mapping"),
        ("--set without =", ["run", "gfluxscale", ms, "--out", out, "--set", "phaseup.minsnr"], "must look like stage.param=value"),
        ("--set unknown stage", ["run", "gfluxscale", ms, "--out", out, "--set", "nostage.x=1"], "is not in the recipe"),
        ("--set unknown parameter", ["run", "gfluxscale", ms, "--out", out, "--set", "ampflag.sigma=3"], "has no parameter 'sigma'; valid: amp_outlier_sigma"),
        ("--set wrong type", ["run", "gfluxscale", ms, "--out", out, "--set", "phaseup.minsnr=abc"], "phaseup.minsnr"),
        ("--set out of bounds", ["run", "gfluxscale", ms, "--out", out, "--set", "ampflag.amp_outlier_sigma=-1"], "greater than 0"),
        ("--set bad solint", ["run", "gfluxscale", ms, "--out", out, "--set", "phaseup.phaseupsolint=often"], "solint 'often' cannot be parsed"),
        ("--out is a file", ["run", "gfluxscale", ms, "--out", str(d / "recipe_ok.yaml")], "is a file; give a folder"),
        ("--out inside the MS", ["run", "gfluxscale", ms, "--out", os.path.join(ms, "out")], "is inside the MeasurementSet"),
        ("--out cannot be made", ["run", "gfluxscale", ms, "--out", "/proc/fluxpipe_out"], "cannot create --out"),
        ("same MS twice", ["run", "gfluxscale", ms, ms, "--out", out], "is given twice"),
        ("reference not a field", ["run", "gfluxscale", ms, "--out", out, "--set", "setmodel.reference=Mars"], "valid fields: J0423-0120"),
        ("transfer is the reference", ["run", "gfluxscale", ms, "--out", out, "--set", "fluxtransfer.transfer=J0423-0120"], "is the reference"),
        ("transfer not a field", ["run", "gfluxscale", ms, "--out", out, "--set", "fluxtransfer.transfer=NoSuchField"], "NoSuchField"),
        ("refant not an antenna", ["run", "gfluxscale", ms, "--out", out, "--set", "resolvedcal.refant=XX99"], "XX99"),
        ("spw not in the MS", ["run", "gfluxscale", ms, "--out", out, "--set", "setmodel.spw=7"], "spw"),
        ("explicit reffile missing", ["run", "gfluxscale", ms, "--out", out, "--set", "setmodel.reffile=nothere.csv"], "setmodel.reffile nothere.csv not found"),
        ("flux.csv spw out of range", ["run", "gfluxscale", ms, "--out", out, "--set",
                                       "setmodel.reffile=" + csv("range.csv", header + "s.ms,J0423-0120,9,3.2,0,0,0,-0.6,0,0,#\n")], "has spw 9"),
        ("flux.csv binary", ["run", "gfluxscale", ms, "--out", out, "--set", "setmodel.reffile=" + csv("bin.csv", "ms,field\x00\x01\x02")], "binary content"),
        ("flux.csv negative flux", ["run", "gfluxscale", ms, "--out", out, "--set",
                                    "setmodel.reffile=" + csv("neg.csv", header + "s.ms,J0423-0120,0,-3.2,0,0,0,-0.6,0,0,#\n")], "is not positive"),
        ("flux.csv bad number", ["run", "gfluxscale", ms, "--out", out, "--set",
                                 "setmodel.reffile=" + csv("num.csv", header + "s.ms,J0423-0120,0,abc,0,0,0,-0.6,0,0,#\n")], "fix the number"),
        ("precal table missing", ["run", "gfluxscale", ms, "--out", out, "--set", "precal.gaintable=[nosuch.K]"], "precal table 'nosuch.K' not found"),
        ("weblog without context", ["weblog", str(d / "empty")], "no context.json in"),
        ("fluxscale bad refspwmap", ["fluxscale", ms, str(d / "x.tbl"), "--reference", "J0423-0120", "--refspwmap", "a,b"], "--refspwmap 'a,b' must be"),
        ("fluxscale no table", ["fluxscale", ms, str(d / "x.tbl"), "--reference", "J0423-0120"], "is not a calibration table"),
    ]


def test_bad_input_matrix(small):
    d, ms = small
    (d / "recipe_ok.yaml").write_text("stages:\n  - setmodel: {}\n")
    os.makedirs(d / "empty", exist_ok=True)
    before = checksums(ms)
    cases = matrix(d, ms)
    assert len(cases) >= 30
    failures = []
    for name, argv, want in cases:
        r = cli(*argv)
        lines = r.stderr.strip().splitlines()
        errs = [ln for ln in lines if ln.startswith("fluxpipe: error:")]
        err = errs[0] if errs else r.stderr[-300:]
        # exactly one error line, the last one, naming the problem; progress logs may precede it
        ok = r.returncode == 1 and len(errs) == 1 and lines[-1] == err and want in err \
            and "Traceback" not in r.stderr
        if not ok:
            failures.append((name, r.returncode, err[-300:]))
        assert checksums(ms) == before, f"{name} changed the MS"
    assert not failures, failures


def test_corrupt_context_and_truncated_ms(small, tmp_path):
    d, ms = small
    out = tmp_path / "o"
    out.mkdir()
    (out / "context.json").write_text("{not json")
    r = cli("run", "gfluxscale", ms, "--out", str(out), "--resume")
    assert r.returncode == 1 and "is not a readable fluxpipe context" in r.stderr and r.stderr.count("\n") == 1
    bad = str(tmp_path / "t" / "s.ms")           # flux.csv rows name the MS s.ms
    shutil.copytree(ms, bad)
    shutil.copy(os.path.join(os.path.dirname(ms), "flux.csv"), tmp_path / "t" / "flux.csv")
    data = max((os.path.join(bad, f) for f in os.listdir(bad) if f.startswith("table.f0")), key=os.path.getsize)
    with open(data, "r+b") as fh:
        fh.truncate(os.path.getsize(data) // 3)
    before = checksums(bad)
    r = cli("-q", "run", "gfluxscale", bad, "--out", str(tmp_path / "o2"))
    assert r.returncode == 1 and "truncated or damaged" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert checksums(bad) == before


def test_locks_refuse_a_second_run(small, tmp_path):
    d, ms = small
    out = tmp_path / "o"
    out.mkdir()
    h = _holder(str(out / ".fluxpipe.lock"))
    try:
        before = checksums(ms)
        r = cli("run", "gfluxscale", ms, "--out", str(out))
        assert r.returncode == 1 and f"in use by another fluxpipe run (PID {h.pid}: fluxpipe run gfluxscale other.ms)" in r.stderr
        assert checksums(ms) == before and not os.path.exists(out / "context.json")
    finally:
        h.kill()
    h = _holder(os.path.join(os.path.dirname(ms), ".s.ms.fluxpipe.lock"))
    try:
        r = cli("run", "gfluxscale", ms, "--out", str(tmp_path / "o2"))
        assert r.returncode == 1 and f"MeasurementSet {ms} is in use by another fluxpipe run (PID {h.pid}" in r.stderr
    finally:
        h.kill()


def test_two_concurrent_runs(tmp_path):
    ms = str(tmp_path / "b.ms")
    simulate(ms, "alma_band3", seed=2)
    out = str(tmp_path / "o")
    a = subprocess.Popen([sys.executable, "-m", "fluxpipe.cli", "-q", "run", "gfluxscale", ms, "--out", out],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = os.path.join(out, ".fluxpipe.lock")
    for _ in range(400):          # until the first run holds its lock
        if os.path.exists(lock) and open(lock).read().startswith(str(a.pid)):
            break
        time.sleep(0.01)
    b = cli("run", "gfluxscale", ms, "--out", out)
    assert b.returncode == 1 and f"(PID {a.pid}:" in b.stderr, b.stderr
    assert a.wait() == 0


def test_repeated_basenames_are_two_mses(tmp_path):
    for k in ("a", "b"):
        simulate(str(tmp_path / k / "s.ms"), "small", seed={"a": 1, "b": 2}[k])
    ctx = run_recipe("gfluxscale", [str(tmp_path / "a" / "s.ms"), str(tmp_path / "b" / "s.ms")],
                     str(tmp_path / "o"), weblog=False)
    names = list(ctx.ms)
    assert len(names) == 2 and names[0] == "s.ms" and names[1].startswith("s.ms~")
    assert {st.path for st in ctx.ms.values()} == {str(tmp_path / k / "s.ms") for k in "ab"}
    f = [ctx.ms[n].fluxes["J0530+1331"].spws[0].flux_jy for n in names]
    assert f[0] != f[1]                            # two different MSes really processed
    assert all(os.path.exists(ctx.abspath(f"{n}.phaseup.tbl")) for n in names)


def test_resume_recomputes_exactly_what_changed(tmp_path):
    ms = str(tmp_path / "s.ms")
    simulate(ms, "small", seed=8)
    out = str(tmp_path / "o")
    first = run_recipe("gfluxscale", [ms], out, weblog=False)
    t0 = {r.stage: r.run_at for r in first.results}
    second = run_recipe("gfluxscale", [ms], out, ["fluxtransfer.fitorder=0"], resume=True, weblog=False)
    rerun = {r.stage for r in second.results if r.run_at != t0[r.stage]}
    assert rerun == {"fluxtransfer", "writeback"}
    assert second.ms["s.ms"].fluxes["J0530+1331"].fit.spidx == 0.0
    t1 = {r.stage: r.run_at for r in second.results}
    third = run_recipe("gfluxscale", [ms], out, ["fluxtransfer.fitorder=0", "setmodel.flux=3.5"], resume=True, weblog=False)
    assert {r.stage for r in third.results if r.run_at != t1[r.stage]} == \
        {"setmodel", "resolvedcal", "phaseup", "ampsolve", "ampflag", "fluxtransfer", "writeback"}
    assert third.ms["s.ms"].reference_model.flux == 3.5
    # an edited flux.csv row is seen too; an unchanged resume reruns nothing
    t2 = {r.stage: r.run_at for r in third.results}
    fourth = run_recipe("gfluxscale", [ms], out, ["fluxtransfer.fitorder=0", "setmodel.flux=3.5"], resume=True, weblog=False)
    assert all(r.run_at == t2[r.stage] for r in fourth.results)
    csv = os.path.join(os.path.dirname(ms), "flux.csv")
    text = open(csv).read().replace("J0530+1331,0,", "J0530+1331,0,1", 1)
    open(csv, "w").write(text)
    fifth = run_recipe("gfluxscale", [ms], out, ["fluxtransfer.fitorder=0", "setmodel.flux=3.5"], resume=True, weblog=False)
    assert "setmodel" in {r.stage for r in fifth.results if r.run_at != t2[r.stage]}
    # resuming against another MS under the same name is an error
    other = str(tmp_path / "x" / "s.ms")
    simulate(other, "small", seed=9, duration_scale=2)
    r = cli("run", "gfluxscale", other, "--out", out, "--resume")
    assert r.returncode == 1 and "holds a run of another MS under the name s.ms" in r.stderr


def test_sigkill_during_writeback_then_resume(tmp_path):
    pristine = str(tmp_path / "p" / "b.ms")          # flux.csv rows name the MS b.ms
    simulate(pristine, "alma_band3", seed=4, duration_scale=2)
    ref, killed = str(tmp_path / "ref" / "b.ms"), str(tmp_path / "k" / "b.ms")
    for dst in (ref, killed):
        shutil.copytree(pristine, dst)
        shutil.copy(os.path.join(os.path.dirname(pristine), "flux.csv"), os.path.dirname(dst))
    assert cli("-q", "run", "gfluxscale", ref, "--out", str(tmp_path / "ref" / "o"), "--no-weblog").returncode == 0
    out = str(tmp_path / "k" / "o")
    p = subprocess.Popen([sys.executable, "-m", "fluxpipe.cli", "-q", "run", "gfluxscale", killed, "--out", out,
                          "--no-weblog"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ctxp = os.path.join(out, "context.json")
    while p.poll() is None:
        try:
            if json.load(open(ctxp))["ms"]["b.ms"]["model_data"].startswith("writing"):
                time.sleep(0.05)            # inside the write-back
                os.kill(p.pid, signal.SIGKILL)
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.005)
    p.wait()
    assert p.returncode == -signal.SIGKILL, "the run ended before the write-back could be interrupted"
    assert json.load(open(ctxp))["ms"]["b.ms"]["model_data"].startswith("writing")
    r = cli("-q", "run", "gfluxscale", killed, "--out", out, "--resume", "--no-weblog")
    assert r.returncode == 0, r.stderr
    assert json.load(open(os.path.join(out, "fluxes.json"))) == \
        json.load(open(str(tmp_path / "ref" / "o" / "fluxes.json")))
    a, b = table(ref, ack=False), table(killed, ack=False)
    assert np.array_equal(a.getcol("MODEL_DATA"), b.getcol("MODEL_DATA"))
    ctx = json.load(open(ctxp))["ms"]["b.ms"]
    assert not ctx["model_data"].startswith("writing")


def test_parallel_failure_keeps_the_other_ms(tmp_path):
    good, bad = str(tmp_path / "g" / "s.ms"), str(tmp_path / "b" / "t.ms")
    simulate(good, "small", seed=1)
    simulate(bad, "small", seed=2)
    csv = tmp_path / "b" / "flux.csv"               # break the second MS's catalogue
    csv.write_text(csv.read_text().replace(",3.2", ",-3.2", 1) if ",3.2" in csv.read_text()
                   else "ms,field,spw,I\nt.ms,J0423-0120,0,-1\n")
    out = str(tmp_path / "o")
    r = cli("-q", "run", "gfluxscale", good, bad, "--out", out, "--parallel", "2")
    assert r.returncode == 1 and "t.ms" in r.stderr and r.stderr.strip().count("\n") == 0
    fl = json.load(open(os.path.join(out, "fluxes.json")))
    assert fl["s.ms"]["J0530+1331"]["spws"]["0"]["flux_jy"] > 0      # the good MS's results are kept
    ctx = json.load(open(os.path.join(out, "context.json")))
    assert any(rec["ms"] == "t.ms" and not rec["ok"] for rec in ctx["results"])
    assert os.path.exists(os.path.join(out, "weblog", "index.html"))
