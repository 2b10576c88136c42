"""Faults while writing: Ctrl-C inside the MODEL_DATA write, and full disks (a small tmpfs;
these tests need permission to mount one and are skipped without it)."""
import os
import shutil
import subprocess

import numpy as np
import pytest
from casacore.tables import table
from clirun import cli

from fluxpipe.errors import DiskFullError
from fluxpipe.ms import read_metadata, select, write_model
from fluxpipe.sim import simulate


def _model_interrupted_after(n):
    calls = []

    def fn(f, s, freq, uvw):
        calls.append(1)
        if len(calls) > n:
            raise KeyboardInterrupt
        return np.full((1, len(freq), 1), 2.0)
    return fn


def _undefined(ms) -> int:
    with table(ms, ack=False) as t:
        return t.query("NOT ISDEFINED(MODEL_DATA)").nrows() if "MODEL_DATA" in t.colnames() else -1


def test_interrupt_inside_the_write_leaves_a_readable_ms(tmp_path):
    """Ctrl-C after some rows of a new column: the column goes (its unwritten cells would be
    undefined: casacore could not read it, CASA crashed); with a column already there, every
    cell stays defined and every row is wholly old or new."""
    ms = str(tmp_path / "m.ms")
    simulate(ms, "alma_mixed", seed=2)            # cells of several shapes: a new column's are undefined until written
    md = read_metadata(ms)
    with pytest.raises(KeyboardInterrupt):
        write_model(md, select(md, field="0"), _model_interrupted_after(3), max_bytes=2**16)
    assert _undefined(ms) == -1                   # no MODEL_DATA: the MS as before
    write_model(read_metadata(ms), select(md, field="0"), lambda f, s, fr, uvw: np.full((1, len(fr), 1), 1.5))
    with pytest.raises(KeyboardInterrupt):
        write_model(read_metadata(ms), select(md, field="0"), _model_interrupted_after(3), max_bytes=2**16)
    assert _undefined(ms) == 0
    with table(ms, ack=False) as t:
        rows = np.flatnonzero(t.getcol("FIELD_ID") == 0)
        vals = {complex(t.getcell("MODEL_DATA", int(r))[0, 0]) for r in rows}
    assert vals <= {1.5, 2.0} and 2.0 in vals and 1.5 in vals     # old or new rows, nothing else


@pytest.fixture
def small_fs(tmp_path):
    """A mount of a small tmpfs; yields a function that remounts it at a given size."""
    mnt = tmp_path / "fs"
    mnt.mkdir()

    def mount(size):
        subprocess.run(["umount", str(mnt)], capture_output=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True)
        if r.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
        return str(mnt)
    yield mount
    subprocess.run(["umount", str(mnt)], capture_output=True)


@pytest.mark.parametrize("size", ["200k", "600k", "1000k"])
def test_full_output_folder_is_one_line_and_resumes(small_fs, tmp_path, size):
    """The output folder's filesystem fills at different points (the cube, a caltable,
    context.json): exit 1, one line naming the filesystem; with room, --resume completes."""
    ms = str(tmp_path / "s.ms")
    simulate(ms, "small", seed=1)
    before = _md5(ms)
    fs = small_fs(size)
    r = cli("-q", "run", "gfluxscale", ms, "--out", os.path.join(fs, "o"), "--no-weblog")
    assert r.returncode == 1, r.stderr
    line = r.stderr.strip().splitlines()
    assert len(line) == 1 and f"no space left on {fs}" in line[0] and "rerun with --resume" in line[0], r.stderr
    assert _md5(ms) == before
    shutil.copytree(os.path.join(fs, "o"), tmp_path / "o", dirs_exist_ok=True)
    r = cli("run", "gfluxscale", ms, "--out", str(tmp_path / "o"), "--no-weblog", "--resume")
    assert r.returncode == 0, r.stderr


def test_full_ms_disk_during_model_write(small_fs):
    """The MS's filesystem fills while a new MODEL_DATA is written: DiskFullError naming it,
    the MS readable and without the column."""
    fs = small_fs("12M")
    ms = os.path.join(fs, "s.ms")
    simulate(ms, "small", seed=1)
    st = os.statvfs(fs)
    with open(os.path.join(fs, "filler"), "wb") as fh:
        fh.write(b"\0" * int(st.f_bavail * st.f_frsize - 2e5))
    md = read_metadata(ms)
    with pytest.raises(DiskFullError, match=f"no space left on {fs} .* while writing MODEL_DATA"):
        write_model(md, select(md, field="0"), lambda f, s, fr, uvw: np.full((1, len(fr), 1), 2.0))
    assert _undefined(ms) == -1
    with table(ms, ack=False) as t:
        assert t.getcol("DATA").shape[0] == t.nrows()


def _md5(ms) -> str:
    import hashlib
    h = hashlib.md5()
    for d, _, fs in sorted(os.walk(ms)):
        for f in sorted(fs):
            if f != "table.lock":
                h.update(open(os.path.join(d, f), "rb").read())
    return h.hexdigest()
