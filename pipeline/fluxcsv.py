"""flux.csv in the ALMA pipeline's format: `ms,field,spw,I,Q,U,V,spix,uvmin,uvmax,comment`.

Reading keeps every column as written; writing merges new rows into an existing file keyed by
(ms, field, spw) and never replaces a row whose comment does not start with the marker
fluxpipe writes ('# fluxpipe'), i.e. rows a user edited or wrote by hand survive.
"""
from __future__ import annotations

import csv
import math
import os
from dataclasses import asdict, dataclass

from .errors import PipelineError

COLUMNS = ["ms", "field", "spw", "I", "Q", "U", "V", "spix", "uvmin", "uvmax", "comment"]
MARK = "# fluxpipe"


@dataclass
class FluxRow:
    ms: str
    field: str
    spw: int
    I: float  # noqa: E741
    Q: float = 0.0
    U: float = 0.0
    V: float = 0.0
    spix: float = 0.0
    uvmin: float = 0.0
    uvmax: float = 0.0
    comment: str = ""

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.ms, self.field, self.spw)


def read_flux_csv(path: str) -> list[FluxRow]:
    """Rows of a flux.csv; one-line errors for a file that is not such a CSV, a bad number, a
    negative spw, a flux that is not positive and finite, and two rows for one (ms, field, spw)
    with different fluxes (naming both lines). A UTF-8 byte-order mark (Excel's) is accepted."""
    rows = []
    seen: dict[tuple, tuple[int, float]] = {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{path} is not a readable text flux.csv ({exc.__class__.__name__}); give "
                            f"a CSV with the header {','.join(COLUMNS)}") from None
    if "\x00" in text:
        raise PipelineError(f"{path} holds binary content; give a CSV with the header {','.join(COLUMNS)}")
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in COLUMNS[:5] if c not in (reader.fieldnames or [])]
    if missing:
        raise PipelineError(f"{path} lacks the column(s) {', '.join(missing)}; flux.csv needs "
                            f"the header {','.join(COLUMNS)}")
    for n, r in enumerate(reader, start=2):
        try:
            row = FluxRow(r["ms"], r["field"], int(r["spw"]), float(r["I"]),
                          *(float(r.get(c) or 0.0) for c in ("Q", "U", "V", "spix", "uvmin", "uvmax")),
                          r.get("comment") or "")
        except (ValueError, TypeError) as exc:
            raise PipelineError(f"{path} line {n}: {exc}; fix the number in that row") from None
        if row.spw < 0:
            raise PipelineError(f"{path} line {n}: spw {row.spw} is negative; give the spw id")
        if not (row.I > 0 and math.isfinite(row.I)):
            raise PipelineError(f"{path} line {n}: flux I = {row.I} Jy for {row.field} spw {row.spw} is "
                                f"not positive and finite; fix the row")
        if row.key in seen:
            first, flux = seen[row.key]
            if flux != row.I:
                raise PipelineError(f"{path} lines {first} and {n} give {row.field} spw {row.spw} of "
                                    f"{row.ms or 'every MS'} two fluxes ({flux} and {row.I} Jy); keep one")
            continue
        seen[row.key] = (n, row.I)
        rows.append(row)
    return rows


def write_flux_csv(path: str, rows: list[FluxRow], replace_ms: str | None = None) -> None:
    """Merge `rows` into `path`: user-edited rows (comment not starting '# fluxpipe') win.
    replace_ms: fluxpipe's own earlier rows of that MS are dropped first (a re-run replaces
    them all, also rows of fields or spws it no longer writes)."""
    existing = read_flux_csv(path) if os.path.exists(path) else []
    if replace_ms is not None:
        existing = [r for r in existing if not (r.ms == replace_ms and r.comment.startswith(MARK))]
    merged = {r.key: r for r in existing}
    for r in rows:
        old = merged.get(r.key)
        if old is None or old.comment.startswith(MARK):
            merged[r.key] = r
    order = [r.key for r in existing] + [r.key for r in rows if r.key not in {e.key for e in existing}]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        for k in order:
            w.writerow(asdict(merged[k]))
