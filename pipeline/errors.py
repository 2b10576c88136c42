"""Errors a user can cause. Each message says what to change; the CLI prints it on one line."""
import errno
import os
import shutil


class PipelineError(Exception):
    """Base class: a problem with the user's input, not a bug in fluxpipe."""

    def __str__(self) -> str:  # one line, always
        return " ".join(str(a) for a in self.args).replace("\n", " ")


class MSError(PipelineError):
    """The path is not a readable MeasurementSet, or a required part of it is missing."""


class SelectionError(PipelineError):
    """A CASA-style selection string names something the MS does not have."""


class NoDataError(PipelineError):
    """A selection or solve found no unflagged data."""


class CalTableError(PipelineError):
    """A calibration table is missing, malformed or of the wrong type."""


class InputsError(PipelineError):
    """A stage parameter or recipe key is invalid."""


def valid_list(values, limit: int = 30) -> str:
    """Format valid choices for an error message, shortened when long."""
    values = [str(v) for v in values]
    if len(values) > limit:
        return ", ".join(values[:limit]) + f", ... ({len(values)} in all)"
    return ", ".join(values)


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """The first line of an exception's message (a casacore or parser error can run to many),
    at most `limit` characters; the exception's type when it has no message."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line[:limit] if limit else line


class DiskFullError(PipelineError):
    """A filesystem filled up while fluxpipe wrote to it."""


def mount_point(path: str) -> str:
    """The mount point of the filesystem holding `path` (or its nearest existing parent)."""
    p = os.path.abspath(path)
    while not os.path.exists(p):
        p = os.path.dirname(p)
    while not os.path.ismount(p):
        p = os.path.dirname(p)
    return p


def disk_full_message(path: str, what: str) -> str:
    """One line: which filesystem is full, what was being written, how to go on."""
    mp = mount_point(path)
    try:
        free = shutil.disk_usage(mp).free / 1e6
    except OSError:
        free = 0.0
    return (f"no space left on {mp} (the filesystem of {path}, {free:.0f} MB free) while writing {what}; "
            f"free space there and rerun with --resume")


def is_disk_full(exc: BaseException, paths=()) -> bool:
    """ENOSPC, casacore's 'No space left on device', or (casacore reports some of it otherwise,
    e.g. a failed lock-file assertion) any error while one of `paths`' filesystems is full."""
    if isinstance(exc, DiskFullError):
        return True
    if getattr(exc, "errno", None) == errno.ENOSPC or "No space left" in str(exc):
        return True
    for p in paths:
        try:
            if shutil.disk_usage(mount_point(p)).free < 1e6:
                return True
        except OSError:
            pass
    return False


def ensure_room(path: str, nbytes: float, what: str) -> None:
    """Refuse to start writing `nbytes` (with room to spare) where the filesystem cannot take
    them: casacore aborts the process when it meets a full disk while closing a table."""
    if shutil.disk_usage(mount_point(path)).free < 1.5 * nbytes + 1e6:
        raise DiskFullError(disk_full_message(path, what))
