"""CASA selection syntax, resolved against an MS's metadata.

Supported (as CASA's MSSelection): field names/ids/globs/ranges; spw ids with channel ranges
('0:4~59,2', '0:4~10;20~30', '*'); scans ('1,3~5'); antennas by name or id (a numeric string
matches an antenna *name* first, as CASA does for VLA antennas named '1'..'28'), with '!'
negation, 'A&B' baselines, 'A&' (baselines within the list), 'A&&' (with autos) and ';'
between expressions; uv range ('<120m', '100~200m', '0~15klambda', units m, km, lambda,
klambda, Mlambda); time range ('2020/01/01/10:00:00~10:30:00', 'hh:mm:ss~hh:mm:ss', '>t', '<t').
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

import numpy as np

from ..errors import SelectionError, valid_list
from ..heuristics.constants import C_LIGHT
from .metadata import MSMetadata


def _range_ids(token: str, valid: list[int], what: str) -> list[int]:
    """'3' or '2~5' (ids) -> list of ids, checked against valid."""
    if "~" in token:
        a, b = token.split("~", 1)
        ids = list(range(int(a), int(b) + 1))
    else:
        ids = [int(token)]
    bad = [i for i in ids if i not in valid]
    if bad:
        raise SelectionError(f"{what} {bad[0]} is not in the MS; valid {what}s: {valid_list(valid)}")
    return ids


def parse_fields(expr: str, md: MSMetadata) -> set[int] | None:
    if not expr or expr.strip() in ("", "*"):
        return None
    out: set[int] = set()
    names = [f.name for f in md.fields]
    for tok in (t.strip() for t in expr.split(",")):
        if not tok:
            continue
        if tok in names:
            out.update(i for i, n in enumerate(names) if n == tok)
        elif re.fullmatch(r"\d+(~\d+)?", tok):
            out.update(_range_ids(tok, list(range(len(names))), "field"))
        elif any(ch in tok for ch in "*?["):
            hits = [i for i, n in enumerate(names) if fnmatch.fnmatchcase(n, tok)]
            if not hits:
                raise SelectionError(f"field pattern '{tok}' matches no field; valid fields: "
                                     f"{valid_list(names)}")
            out.update(hits)
        else:
            raise SelectionError(f"field '{tok}' is not in {md.name}; valid fields: {valid_list(names)}")
    return out


def parse_spws(expr: str, md: MSMetadata) -> dict[int, np.ndarray | None] | None:
    """-> {spw_id: channel indices (None = all)} or None for all spws."""
    if not expr or expr.strip() in ("", "*"):
        return None
    valid = [s.id for s in md.spws]
    out: dict[int, np.ndarray | None] = {}
    for tok in (t.strip() for t in expr.split(",")):
        if not tok:
            continue
        spw_part, _, chan_part = tok.partition(":")
        if spw_part == "*":
            ids = valid
        elif re.fullmatch(r"\d+(~\d+)?", spw_part):
            ids = _range_ids(spw_part, valid, "spw")
        else:
            names = {s.name: s.id for s in md.spws}
            if spw_part not in names:
                raise SelectionError(f"spw '{spw_part}' is not in {md.name}; valid spws: "
                                     f"{valid_list(valid)}")
            ids = [names[spw_part]]
        for sid in ids:
            nchan = md.spws[sid].nchan
            if not chan_part:
                out[sid] = None
                continue
            chans = []
            for rng in chan_part.split(";"):
                m = re.fullmatch(r"(\d+)(?:~(\d+))?(?:\^(\d+))?", rng.strip())
                if not m:
                    raise SelectionError(f"channel range '{rng}' in spw selection '{tok}' is not "
                                         f"of the form a~b (e.g. '0:4~59')")
                a = int(m.group(1))
                b = int(m.group(2)) if m.group(2) else a
                step = int(m.group(3)) if m.group(3) else 1
                if b >= nchan or a > b:
                    raise SelectionError(f"channels {a}~{b} are outside spw {sid}, which has "
                                         f"channels 0~{nchan - 1}")
                chans.extend(range(a, b + 1, step))
            prev = out.get(sid, np.array([], int))
            out[sid] = np.unique(np.concatenate([prev if prev is not None else np.arange(nchan),
                                                 np.array(chans, int)]))
    return out


def parse_scans(expr: str, md: MSMetadata) -> set[int] | None:
    if not expr or expr.strip() in ("", "*"):
        return None
    valid = [s.number for s in md.scans]
    out: set[int] = set()
    for tok in (t.strip() for t in str(expr).split(",")):
        if tok:
            if not re.fullmatch(r"\d+(~\d+)?", tok):
                raise SelectionError(f"scan '{tok}' is not a scan number or range a~b")
            if "~" in tok:
                a, b = map(int, tok.split("~"))
                out.update(s for s in valid if a <= s <= b)
            else:
                out.update(_range_ids(tok, valid, "scan"))
    return out


def antenna_ids(tok: str, md: MSMetadata) -> list[int]:
    """One antenna token -> ids. Names first (also globs), then ids and id ranges."""
    names = [a.name for a in md.antennas]
    tok = tok.strip()
    if tok in names:
        return [names.index(tok)]
    if any(ch in tok for ch in "*?["):
        hits = [i for i, n in enumerate(names) if fnmatch.fnmatchcase(n, tok)]
        if hits:
            return hits
    elif re.fullmatch(r"\d+(~\d+)?", tok):
        return _range_ids(tok, list(range(len(names))), "antenna")
    raise SelectionError(f"antenna '{tok}' is not in {md.name}; valid antennas: {valid_list(names)}")


@dataclass
class BaselineExpr:
    a: list[int]
    b: list[int] | None  # None: any partner; 'within' handled via b == a
    autos: bool = False
    negate: bool = False


def parse_antennas(expr: str, md: MSMetadata) -> list[BaselineExpr] | None:
    if not expr or expr.strip() in ("", "*"):
        return None
    out = []
    for sub in (s.strip() for s in expr.split(";")):
        if not sub:
            continue
        neg = sub.startswith("!")
        sub = sub.lstrip("!")
        if "&" in sub:
            left, _, right = sub.partition("&")
            autos = right.startswith("&")
            right = right.lstrip("&")
            a = [i for t in left.split(",") if t for i in antenna_ids(t.lstrip("!"), md)]
            b = a if not right else [i for t in right.split(",") if t for i in antenna_ids(t, md)]
            out.append(BaselineExpr(a, b, autos, neg))
        else:
            # comma list; each element may carry its own '!'
            pos, negs = [], []
            for t in sub.split(","):
                t = t.strip()
                if not t:
                    continue
                if t.startswith("!") or neg:
                    negs.extend(antenna_ids(t.lstrip("!"), md))
                else:
                    pos.extend(antenna_ids(t, md))
            if pos:
                out.append(BaselineExpr(pos, None))
            if negs:
                out.append(BaselineExpr(negs, None, negate=True))
    return out


def baseline_mask(exprs: list[BaselineExpr] | None, a1: np.ndarray, a2: np.ndarray) -> np.ndarray:
    """Rows selected by antenna expressions: OR of positives (all if none), AND NOT negatives.

    Auto-correlations are excluded unless an expression asks for them ('&&'), as in CASA.
    """
    if exprs is None:
        return np.ones(a1.shape, bool)
    pos = [e for e in exprs if not e.negate]
    keep = np.zeros(a1.shape, bool) if pos else np.ones(a1.shape, bool)
    cross = a1 != a2
    for e in exprs:
        ina1, ina2 = np.isin(a1, e.a), np.isin(a2, e.a)
        if e.b is None:
            m = (ina1 | ina2) & cross
        else:
            inb1, inb2 = np.isin(a1, e.b), np.isin(a2, e.b)
            m = ((ina1 & inb2) | (inb1 & ina2)) & (cross | e.autos)
        if e.negate:
            keep &= ~m if e.b is not None else ~(ina1 | ina2)
        else:
            keep |= m
    return keep


_UV_UNITS = {"m": (1.0, False), "km": (1e3, False), "lambda": (1.0, True),
             "klambda": (1e3, True), "mlambda": (1e6, True)}


def parse_uvrange(expr: str) -> list[tuple[float, float, bool]] | None:
    """-> list of (lo, hi, in_wavelengths) ranges; metres when no unit is given."""
    if not expr or not str(expr).strip():
        return None
    out = []
    for tok in (t.strip() for t in str(expr).split(",")):
        m = re.fullmatch(r"([<>]?)\s*([\d.eE+-]+)(?:\s*~\s*([\d.eE+-]+))?\s*([a-zA-Z]*)", tok)
        unit = (m.group(4) or "m").lower() if m else ""
        if not m or unit not in _UV_UNITS:
            raise SelectionError(f"uvrange '{tok}' not understood; use e.g. '<120m', '100~200m' "
                                 f"or '0~15klambda' (units m, km, lambda, klambda, Mlambda)")
        scale, lam = _UV_UNITS[unit]
        x = float(m.group(2)) * scale
        if m.group(1) == "<":
            out.append((0.0, x, lam))
        elif m.group(1) == ">":
            out.append((x, np.inf, lam))
        elif m.group(3):
            out.append((x, float(m.group(3)) * scale, lam))
        else:
            out.append((x, x, lam))
    return out


def uv_mask(ranges, uvw: np.ndarray, freq_hz: float) -> np.ndarray:
    """Rows whose projected uv distance lies in any range (wavelengths at `freq_hz`)."""
    if ranges is None:
        return np.ones(len(uvw), bool)
    uvd = np.hypot(uvw[:, 0], uvw[:, 1])
    keep = np.zeros(len(uvw), bool)
    for lo, hi, lam in ranges:
        d = uvd * freq_hz / C_LIGHT if lam else uvd
        keep |= (d >= lo) & (d <= hi)
    return keep


def _mjd_seconds(date: tuple[int, int, int], hh: float, mm: float, ss: float) -> float:
    y, mo, d = date
    # days from MJD 0 (1858-11-17) via the proleptic Gregorian ordinal
    import datetime as _dt
    days = (_dt.date(y, mo, d) - _dt.date(1858, 11, 17)).days
    return days * 86400.0 + hh * 3600 + mm * 60 + ss


def _parse_time(tok: str, ref_date: tuple[int, int, int]) -> float:
    m = re.fullmatch(r"(?:(\d{4})/(\d{1,2})/(\d{1,2})/)?(\d{1,2}):(\d{1,2})(?::([\d.]+))?", tok.strip())
    if not m:
        raise SelectionError(f"time '{tok}' not understood; use YYYY/MM/DD/hh:mm:ss or hh:mm:ss")
    date = (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m.group(1) else ref_date
    return _mjd_seconds(date, int(m.group(4)), int(m.group(5)), float(m.group(6) or 0))


def mjd_to_date(t: float) -> tuple[int, int, int]:
    import datetime as _dt
    d = _dt.date(1858, 11, 17) + _dt.timedelta(days=int(t // 86400))
    return d.year, d.month, d.day


def parse_timerange(expr: str, md: MSMetadata) -> list[tuple[float, float]] | None:
    if not expr or not str(expr).strip():
        return None
    ref = mjd_to_date(md.time_range[0])
    out = []
    for tok in (t.strip() for t in str(expr).split(",")):
        if tok.startswith(">"):
            out.append((_parse_time(tok[1:], ref), np.inf))
        elif tok.startswith("<"):
            out.append((-np.inf, _parse_time(tok[1:], ref)))
        elif "~" in tok:
            a, b = tok.split("~", 1)
            ta = _parse_time(a, ref)
            rb = mjd_to_date(ta)
            out.append((ta, _parse_time(b, rb)))
        else:
            t0 = _parse_time(tok, ref)
            out.append((t0 - 0.5, t0 + 0.5))
    return out


@dataclass
class Selection:
    """A resolved selection. None in any member means 'everything'."""
    fields: set[int] | None = None
    spws: dict[int, np.ndarray | None] | None = None
    scans: set[int] | None = None
    antennas: list[BaselineExpr] | None = None
    uvrange: list | None = None
    timerange: list | None = None
    intents: set[str] | None = None

    def spw_ids(self, md: MSMetadata) -> list[int]:
        return sorted(self.spws) if self.spws is not None else [s.id for s in md.spws]

    def channels(self, spw_id: int) -> np.ndarray | None:
        if self.spws is None:
            return None
        return self.spws.get(spw_id)


def select(md: MSMetadata, field: str = "", spw: str = "", scan: str = "", antenna: str = "",
           uvrange: str = "", timerange: str = "", intent: str = "") -> Selection:
    """Resolve CASA-style selection strings against `md`; raise SelectionError on unknown items."""
    intents = None
    if intent:
        intents = {s.strip().upper() for s in intent.split(",") if s.strip()}
    sel = Selection(parse_fields(str(field), md), parse_spws(str(spw), md), parse_scans(str(scan), md),
                    parse_antennas(str(antenna), md), parse_uvrange(uvrange),
                    parse_timerange(timerange, md), intents)
    if intents is not None:
        fids = {f.id for f in md.fields if f.intents & intents}
        if not fids:
            known = sorted({i for f in md.fields for i in f.intents})
            raise SelectionError(f"no field has intent {','.join(sorted(intents))}; intents in "
                                 f"{md.name}: {valid_list(known) or 'none'}")
        sel.fields = fids if sel.fields is None else sel.fields & fids
    return sel
