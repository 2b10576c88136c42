"""Errors a user can cause. Each message says what to change; the CLI prints it on one line."""


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
