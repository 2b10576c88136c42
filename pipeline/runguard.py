"""What makes a run safe to trust: MS identity, unique names, locks, preflight checks.

- Identity: an MS is its absolute path plus its row count and time range; its *content*
  fingerprint (every main-table column's storage but MODEL_DATA's, and the subtables) feeds the
  stages' fingerprints, so an edit of the data, the flags or an ephemeris table is noticed.
- Names: outputs are named by the MS's basename, made unique when two MSes share one
  ('s.ms' and 's.ms~1a2b3c', the suffix from the folder's path).
- Locks: a run holds an exclusive fcntl lock on OUTDIR/.fluxpipe.lock and, when its recipe
  writes MODEL_DATA, on '.<name>.fluxpipe.lock' beside each MS (never inside it). The lock file
  names the holder (PID and command); a second run is refused at once with that in one line.
  The kernel releases the lock when the process ends, however it ends.
- Preflight, before any stage: the recipe parses, OUTDIR can be made and written and is not
  inside an MS, every MS opens, an MS to be written is writable and its disk has room for the
  MODEL_DATA column to be created, an explicitly given reffile exists.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import sys

from .errors import InputsError, MSError, PipelineError
from .ms.metadata import MSMetadata


class LockedError(PipelineError):
    """Another fluxpipe run holds the lock."""


def ms_identity(md: MSMetadata) -> dict:
    return {"path": md.path, "nrows": md.nrows, "time_range": [round(t, 3) for t in md.time_range]}


def unique_names(paths: list[str]) -> list[str]:
    """Basenames, with a short hash of the folder added where two MSes share a basename."""
    full = [os.path.realpath(p).rstrip("/") for p in paths]
    dup = next((p for p, f in zip(paths, full) if full.count(f) > 1), None)
    if dup:
        raise InputsError(f"MS {dup} is given twice; give each MS once")
    base = [os.path.basename(f) for f in full]
    out = []
    for p, b in zip(paths, base):
        if b in out:             # the first keeps its basename, later ones get the folder's hash
            h = hashlib.sha256(os.path.dirname(os.path.abspath(p)).encode()).hexdigest()[:6]
            b = f"{b}~{h}"
        out.append(b)
    return out


class RunLock:
    """An exclusive, non-blocking fcntl lock on `path`; the file says who holds it."""

    def __init__(self, path: str, what: str):
        self.path, self.what, self.fd = path, what, None

    def acquire(self) -> "RunLock":
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise InputsError(f"cannot create the lock file {self.path} ({exc.strerror}); make "
                              f"{os.path.dirname(self.path)} writable") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            pid, _, cmd = holder.partition("\t")
            raise LockedError(f"{self.what} is in use by another fluxpipe run (PID {pid}: {cmd}); "
                              f"wait for it to end or stop it") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\t{' '.join(sys.argv)}".encode())
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def inside_ms(path: str) -> str | None:
    """The MeasurementSet that `path` lies in, if any."""
    p = os.path.abspath(path)
    while True:
        if os.path.exists(os.path.join(p, "table.dat")) and os.path.isdir(os.path.join(p, "ANTENNA")):
            return p
        parent = os.path.dirname(p)
        if parent == p:
            return None
        p = parent


def check_outdir(outdir: str) -> str:
    out = os.path.abspath(outdir)
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputsError(f"--out {outdir} is a file; give a folder (it is created if missing)")
    ms = inside_ms(out)
    if ms:
        raise InputsError(f"--out {outdir} is inside the MeasurementSet {ms}; give a folder outside it")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise InputsError(f"cannot create --out {outdir} ({exc.strerror}); give a writable folder") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise InputsError(f"--out {outdir} is not writable; give a writable folder")
    return out


def model_data_bytes(md: MSMetadata) -> int:
    """Upper bound of the bytes a new MODEL_DATA column takes (largest cell for every row)."""
    cell = max(len(md.spws[d.spw_id].chan_freq) * len(md.corr_types[d.pol_id]) for d in md.datadescs)
    return md.nrows * cell * 8


def check_ms_writable(md: MSMetadata) -> None:
    if not os.access(md.path, os.W_OK) or not os.access(os.path.join(md.path, "table.dat"), os.W_OK):
        raise MSError(f"{md.path} is read-only but the recipe writes MODEL_DATA; make it writable "
                      f"(chmod -R u+w) or run a recipe without writeback")
    if "MODEL_DATA" not in md.columns:
        need, free = model_data_bytes(md), shutil.disk_usage(md.path).free
        if need > 0.98 * free:
            raise MSError(f"writing MODEL_DATA into {md.name} needs up to {need / 1e9:.1f} GB but "
                          f"{free / 1e9:.1f} GB are free there; free disk space first")
