"""MeasurementSet metadata from the subtables and a few scalar main-table columns.

Nothing here reads DATA, FLAG or WEIGHT: opening a large MS costs only the scalar columns
TIME, FIELD_ID, DATA_DESC_ID, SCAN_NUMBER and STATE_ID.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import MSError, first_line

# STOKES enum of casacore (Stokes.h) for the correlation products we meet.
CORR_NAMES = {1: "I", 2: "Q", 3: "U", 4: "V", 5: "RR", 6: "RL", 7: "LR", 8: "LL",
              9: "XX", 10: "XY", 11: "YX", 12: "YY"}

# Short intent names (ALMA pipeline) from STATE.OBS_MODE sub-strings.
INTENT_MAP = {
    "CALIBRATE_FLUX": "AMPLITUDE", "CALIBRATE_AMPLI": "AMPLITUDE",
    "CALIBRATE_BANDPASS": "BANDPASS", "CALIBRATE_PHASE": "PHASE",
    "OBSERVE_CHECK_SOURCE": "CHECK", "OBSERVE_TARGET": "TARGET",
    "CALIBRATE_POLARIZATION": "POLARIZATION", "CALIBRATE_POINTING": "POINTING",
    "CALIBRATE_ATMOSPHERE": "ATMOSPHERE", "CALIBRATE_WVR": "WVR",
    "CALIBRATE_DIFFGAIN": "DIFFGAIN",
}

REQUIRED_SUBTABLES = ("ANTENNA", "DATA_DESCRIPTION", "FIELD", "POLARIZATION",
                      "SPECTRAL_WINDOW")


def short_intents(obs_mode: str) -> set[str]:
    """'CALIBRATE_FLUX#ON_SOURCE,CALIBRATE_WVR#ON_SOURCE' -> {'AMPLITUDE', 'WVR'}."""
    out = set()
    for part in obs_mode.split(","):
        key = part.split("#")[0].strip()
        if key in INTENT_MAP:
            out.add(INTENT_MAP[key])
    return out


@dataclass
class Antenna:
    id: int
    name: str
    station: str
    position: tuple[float, float, float]  # ITRF metres
    diameter: float


@dataclass
class Field:
    id: int
    name: str
    ra: float   # radians (PHASE_DIR, first polynomial term)
    dec: float
    intents: set[str] = field(default_factory=set)


@dataclass
class Spw:
    id: int
    name: str
    chan_freq: np.ndarray   # Hz
    chan_width: np.ndarray  # Hz

    @property
    def nchan(self) -> int:
        return len(self.chan_freq)

    @property
    def centre_freq(self) -> float:
        return float(0.5 * (self.chan_freq.min() + self.chan_freq.max()))

    @property
    def bandwidth(self) -> float:
        return float(np.abs(self.chan_width).sum())


@dataclass
class Scan:
    number: int
    field_ids: list[int]
    start: float  # MJD seconds (UTC)
    end: float
    intents: set[str]
    observation: int = 0    # OBSERVATION_ID (a scan number is in one observation: read_metadata checks)


@dataclass
class DataDesc:
    id: int
    spw_id: int
    pol_id: int


@dataclass
class MSMetadata:
    path: str
    name: str
    telescope: str
    antennas: list[Antenna]
    fields: list[Field]
    spws: list[Spw]
    datadescs: list[DataDesc]
    corr_types: list[list[str]]   # per POLARIZATION row
    scans: list[Scan]
    time_range: tuple[float, float]
    columns: set[str]
    nrows: int

    # -- convenience -------------------------------------------------------------------
    @property
    def corr_names(self) -> list[str]:
        """Correlation products of the first polarization setup, e.g. ['XX', 'YY']."""
        return self.corr_types[0]

    @property
    def feed_basis(self) -> str:
        """'linear' (XX/YY) or 'circular' (RR/LL)."""
        return "circular" if any(c in ("RR", "LL") for c in self.corr_names) else "linear"

    def fields_named(self, names: str, known_only: bool = False) -> list[Field]:
        """The fields of a comma-separated list of names ('' -> []), each checked (an unknown
        name is an error listing the valid ones; known_only: left out instead): the one
        resolver of user field lists."""
        toks = [t.strip() for t in names.split(",") if t.strip()]
        if known_only:
            return [f for f in self.fields if f.name in toks]
        return [self.field_by_name(t) for t in toks]

    def field_by_name(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        from ..errors import SelectionError, valid_list
        raise SelectionError(f"field '{name}' is not in {self.name}; valid fields: "
                             f"{valid_list(f.name for f in self.fields)}")

    def antenna_positions(self) -> np.ndarray:
        return np.array([a.position for a in self.antennas], dtype=float)

    def baseline_lengths(self) -> np.ndarray:
        """Ground distances of all antenna pairs (i < j), metres."""
        p = self.antenna_positions()
        i, j = np.triu_indices(len(p), 1)
        return np.linalg.norm(p[i] - p[j], axis=1)

    def summary(self) -> dict:
        """JSON-serialisable summary (for the context and the weblog)."""
        bl = self.baseline_lengths()
        return {
            "name": self.name, "telescope": self.telescope, "nrows": self.nrows,
            "antennas": [a.name for a in self.antennas],
            "baseline_min_m": float(bl.min()) if bl.size else 0.0,
            "baseline_max_m": float(bl.max()) if bl.size else 0.0,
            "time_range": list(self.time_range),
            "fields": [{"id": f.id, "name": f.name, "intents": sorted(f.intents)}
                       for f in self.fields],
            "spws": [{"id": s.id, "name": s.name, "centre_freq_hz": s.centre_freq,
                      "bandwidth_hz": s.bandwidth, "nchan": s.nchan} for s in self.spws],
            "correlations": self.corr_names,
            "scans": [{"number": s.number, "fields": s.field_ids, "start": s.start,
                       "end": s.end, "intents": sorted(s.intents)} for s in self.scans],
        }


def _open(path: str, sub: str | None = None):
    from casacore.tables import table
    full = path if sub is None else os.path.join(path, sub)
    try:
        return table(full, ack=False, readonly=True)
    except RuntimeError as exc:
        what = f"subtable {sub} of {path}" if sub else path
        raise MSError(f"cannot open {what} as a casacore table ({first_line(exc)}); "
                      f"give the path of a MeasurementSet directory") from None


def check_is_ms(path: str) -> None:
    """Raise MSError unless `path` looks like a MeasurementSet with its required subtables."""
    if not os.path.isdir(path) or not os.path.exists(os.path.join(path, "table.dat")):
        raise MSError(f"'{path}' is not a MeasurementSet (no table.dat in a directory); "
                      f"give the path of a .ms directory")
    missing = [s for s in REQUIRED_SUBTABLES
               if not os.path.exists(os.path.join(path, s, "table.dat"))]
    if missing:
        raise MSError(f"'{path}' lacks the required subtable(s) {', '.join(missing)}; "
                      f"it is not a complete MeasurementSet")


def content_fingerprint(path: str, skip_columns=("MODEL_DATA",)) -> list:
    """[file, size, mtime] of the main table's storage files, except those of the data managers
    that hold `skip_columns` (MODEL_DATA: fluxpipe's own output) and the table's headers, which
    change when a column is added. A change of DATA, FLAG, WEIGHT, UVW, ... changes this."""
    import re

    from casacore.tables import table
    try:
        t = table(path, ack=False)
    except RuntimeError as exc:         # casacore: a truncated or damaged table
        raise MSError(f"'{path}' cannot be opened by casacore ({first_line(exc, 100)}); "
                      f"the table is truncated or damaged: give an intact copy") from None
    try:
        dm = t.getdminfo()
    finally:
        t.close()
    skip = {int(v["SEQNR"]) for v in dm.values() if set(v.get("COLUMNS", [])) & set(skip_columns)}
    out = []
    for f in sorted(os.listdir(path)):
        m = re.match(r"table\.f(\d+)", f)
        if m and int(m.group(1)) not in skip:
            st = os.stat(os.path.join(path, f))
            out.append([f, st.st_size, st.st_mtime_ns])
    return out


def ms_content(md: MSMetadata) -> list:
    """Content fingerprint: main-table storage (MODEL_DATA excluded) and subtable headers."""
    subs = []
    for p in sorted(glob.glob(os.path.join(md.path, "*", "table.dat"))
                    + glob.glob(os.path.join(md.path, "FIELD", "EPHEM*", "table.*"))):
        st = os.stat(p)
        subs.append([os.path.relpath(p, md.path), st.st_size, st.st_mtime_ns])
    return content_fingerprint(md.path) + subs


def table_stamp(path: str) -> tuple[int, int]:
    """(size, mtime) of an MS's table.dat: it changes when a column is added (MODEL_DATA)."""
    st = os.stat(os.path.join(path, "table.dat"))
    return st.st_size, st.st_mtime_ns


def read_metadata(path: str) -> MSMetadata:
    """Read the metadata of the MeasurementSet at `path` (never touches DATA). A run reads it
    once per MS and keeps it in its Session (fluxpipe.session); nothing here is cached."""
    path = os.path.abspath(str(path)).rstrip("/")
    check_is_ms(path)
    return _read_metadata(path)


def _read_metadata(path: str) -> MSMetadata:
    main = _open(path)
    try:
        cols = set(main.colnames())
        if "DATA" not in cols and "CORRECTED_DATA" not in cols:
            raise MSError(f"'{path}' has neither a DATA nor a CORRECTED_DATA column")
        nrows = main.nrows()
        scal = _runs(main, nrows, "STATE_ID" in cols, "OBSERVATION_ID" in cols)
    finally:
        main.close()

    t = _open(path, "ANTENNA")
    antennas = [Antenna(i, n, s, tuple(map(float, p)), float(d)) for i, (n, s, p, d) in
                enumerate(zip(t.getcol("NAME"), t.getcol("STATION"), t.getcol("POSITION"),
                              t.getcol("DISH_DIAMETER")))]
    t.close()

    t = _open(path, "FIELD")
    pdir = t.getcol("PHASE_DIR")
    fields = [Field(i, n, float(pdir[i, 0, 0]), float(pdir[i, 0, 1]))
              for i, n in enumerate(t.getcol("NAME"))]
    t.close()

    t = _open(path, "SPECTRAL_WINDOW")
    spws = []
    for i in range(t.nrows()):
        spws.append(Spw(i, str(t.getcell("NAME", i)), np.asarray(t.getcell("CHAN_FREQ", i), float),
                        np.asarray(t.getcell("CHAN_WIDTH", i), float)))
    t.close()

    t = _open(path, "POLARIZATION")
    corr_types = [[CORR_NAMES.get(int(c), str(c)) for c in t.getcell("CORR_TYPE", i)]
                  for i in range(t.nrows())]
    t.close()

    t = _open(path, "DATA_DESCRIPTION")
    datadescs = [DataDesc(i, int(s), int(p)) for i, (s, p) in
                 enumerate(zip(t.getcol("SPECTRAL_WINDOW_ID"), t.getcol("POLARIZATION_ID")))]
    t.close()

    state_intents: list[set[str]] = []
    if os.path.exists(os.path.join(path, "STATE", "table.dat")):
        t = _open(path, "STATE")
        if t.nrows():
            state_intents = [short_intents(m) for m in t.getcol("OBS_MODE")]
        t.close()

    telescope = ""
    if os.path.exists(os.path.join(path, "OBSERVATION", "table.dat")):
        t = _open(path, "OBSERVATION")
        if t.nrows():
            telescope = str(t.getcell("TELESCOPE_NAME", 0))
        t.close()

    scans = _scans(scal, state_intents, os.path.basename(path))
    for sc in scans:
        for fid in sc.field_ids:
            fields[fid].intents |= sc.intents
    trange = (float(scal["t_first"].min()), float(scal["t_last"].max())) if nrows else (0.0, 0.0)
    return MSMetadata(path, os.path.basename(path), telescope, antennas, fields, spws, datadescs,
                      corr_types, scans, trange, cols, nrows)


RUN_BLOCK = 1_000_000


def _runs(main, nrows: int, has_state: bool, has_obs: bool = True) -> dict:
    """Runs of constant scan, field, state and observation, read in blocks of RUN_BLOCK rows
    (memory does not grow with the MS). MS rows are time-ordered within a run, so TIME is read
    only at the first and last row of each run (a full read costs ~10 ns/row)."""
    firsts, vals, prev = [], [], None
    for start in range(0, nrows, RUN_BLOCK):
        n = min(RUN_BLOCK, nrows - start)
        k = np.stack([main.getcol("SCAN_NUMBER", start, n), main.getcol("FIELD_ID", start, n),
                      main.getcol("STATE_ID", start, n) if has_state else np.full(n, -1, np.int32),
                      main.getcol("OBSERVATION_ID", start, n) if has_obs else np.zeros(n, np.int32)], 1)
        change = np.flatnonzero((np.diff(k, axis=0) != 0).any(axis=1)) + 1
        if prev is None or (k[0] != prev).any():
            change = np.r_[0, change]
        firsts.append(change + start)
        vals.append(k[change])
        prev = k[-1]
    first = np.concatenate(firsts) if firsts else np.zeros(0, int)
    v = np.concatenate(vals) if vals else np.zeros((0, 4), int)
    last = np.r_[first[1:] - 1, nrows - 1] if nrows else first
    return {"run_first": first, "run_last": last, "SCAN_NUMBER": v[:, 0], "FIELD_ID": v[:, 1],
            "STATE_ID": v[:, 2], "OBSERVATION_ID": v[:, 3],
            "t_first": np.array([main.getcell("TIME", int(r)) for r in first]),
            "t_last": np.array([main.getcell("TIME", int(r)) for r in last])}


def _scans(scal: dict, state_intents: list[set[str]], ms: str) -> list[Scan]:
    if scal["SCAN_NUMBER"].size == 0:
        return []
    first = scal["run_first"]
    scans: dict[int, Scan] = {}
    for k, _ in enumerate(first):
        num, obs = int(scal["SCAN_NUMBER"][k]), int(scal["OBSERVATION_ID"][k])
        fid, st = int(scal["FIELD_ID"][k]), int(scal["STATE_ID"][k])
        t0, t1 = float(min(scal["t_first"][k], scal["t_last"][k])), float(max(scal["t_first"][k], scal["t_last"][k]))
        intents = state_intents[st] if 0 <= st < len(state_intents) else set()
        sc = scans.get(num)
        if sc is None:
            scans[num] = Scan(num, [fid], t0, t1, set(intents), obs)
        elif sc.observation != obs:     # fluxpipe groups solutions by scan; CASA by observation and scan
            raise MSError(f"{ms}: scan {num} is in observations {sc.observation} and {obs} (MSes joined without "
                          f"renumbering their scans); split it by observation (CASA split, observation='{obs}') "
                          f"or concatenate with CASA's concat, which renumbers them")
        else:
            if fid not in sc.field_ids:
                sc.field_ids = sorted(sc.field_ids + [fid])
            sc.start, sc.end = min(sc.start, t0), max(sc.end, t1)
            sc.intents |= intents
    return [scans[k] for k in sorted(scans)]
