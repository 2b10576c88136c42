"""CASA calibration tables (NewCalTable): write G/T tables as CASA does; read G, T, B, K (FPARAM delays) and B TSYS tables.

Layout (checked against CASA 6.7): info type 'Calibration', subType 'G Jones' / 'T Jones' /
'B Jones'; keywords ParType, MSName, VisCal, PolBasis and the subtables OBSERVATION, ANTENNA,
FIELD, SPECTRAL_WINDOW, HISTORY; all columns in one StandardStMan group 'MSMTAB'; TIME with
QuantumUnits ['s'] and MEASINFO epoch/UTC; INTERVAL 0 as CASA writes it; WEIGHT cells left
undefined; CPARAM/PARAMERR/FLAG/SNR cells of shape (nchan, npol) in python order
([npol, nchan] in casacore's). SPECTRAL_WINDOW keeps one channel per spw: CHAN_FREQ = mean of
the solved channels, CHAN_WIDTH = EFFECTIVE_BW = their summed width (RESOLUTION and
TOTAL_BANDWIDTH = that frequency, as CASA writes them).
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field

import numpy as np

from . import __version__
from .errors import CalTableError, ensure_room, first_line

VISCAL = {"G": "G Jones", "T": "T Jones", "B": "B Jones", "K": "K Jones", "TSYS": "B TSYS"}
FLOAT_TYPES = ("K Jones", "B TSYS")     # FPARAM tables: delays (ns), system temperatures (K)


@dataclass
class CalTable:
    """A calibration table in memory. Arrays are per row; cells are (nchan, npol)."""
    viscal: str                    # 'G Jones', 'T Jones', 'B Jones'
    time: np.ndarray
    field_id: np.ndarray
    spw_id: np.ndarray
    antenna1: np.ndarray
    antenna2: np.ndarray
    scan: np.ndarray
    cparam: np.ndarray             # (row, nchan, npol) complex64
    paramerr: np.ndarray           # float32
    flag: np.ndarray               # bool
    snr: np.ndarray                # float32
    interval: np.ndarray | None = None
    obs_id: np.ndarray | None = None
    fparam: np.ndarray | None = None  # (row, nchan, npol) float for K (ns) and Tsys (K) tables
    ms_name: str = ""
    spw_freq: dict[int, np.ndarray] = field(default_factory=dict)  # spw -> CHAN_FREQ
    field_names: list[str] = field(default_factory=list)
    antenna_names: list[str] = field(default_factory=list)
    path: str = ""

    @property
    def gaintype(self) -> str:
        return "TSYS" if self.viscal == "B TSYS" else self.viscal.split()[0]

    @property
    def npol(self) -> int:
        return self.cparam.shape[2]

    def spw_ref_freq(self, spw: int) -> float:
        """Frequency CASA's fluxscale uses: CHAN_FREQ[nchan // 2]."""
        f = self.spw_freq[spw]
        return float(f[len(f) // 2])

    def select(self, mask: np.ndarray) -> "CalTable":
        out = CalTable(**{k: v for k, v in self.__dict__.items()})
        for k in ("time", "field_id", "spw_id", "antenna1", "antenna2", "scan", "cparam",
                  "paramerr", "flag", "snr", "interval", "obs_id", "fparam"):
            v = getattr(self, k)
            if v is not None:
                setattr(out, k, v[mask])
        return out


def _coldescs(float_par: bool = False) -> dict:
    from casacore.tables import makearrcoldesc, makescacoldesc
    sc = {
        "TIME": makescacoldesc("TIME", 0.0, datamanagergroup="MSMTAB",
                               keywords={"QuantumUnits": ["s"],
                                         "MEASINFO": {"type": "epoch", "Ref": "UTC"}}),
        "FIELD_ID": makescacoldesc("FIELD_ID", 0, datamanagergroup="MSMTAB"),
        "SPECTRAL_WINDOW_ID": makescacoldesc("SPECTRAL_WINDOW_ID", 0, datamanagergroup="MSMTAB"),
        "ANTENNA1": makescacoldesc("ANTENNA1", 0, datamanagergroup="MSMTAB"),
        "ANTENNA2": makescacoldesc("ANTENNA2", 0, datamanagergroup="MSMTAB"),
        "INTERVAL": makescacoldesc("INTERVAL", 0.0, datamanagergroup="MSMTAB",
                                   keywords={"QuantumUnits": ["s"]}),
        "SCAN_NUMBER": makescacoldesc("SCAN_NUMBER", 0, datamanagergroup="MSMTAB"),
        "OBSERVATION_ID": makescacoldesc("OBSERVATION_ID", 0, datamanagergroup="MSMTAB"),
    }
    for d in sc.values():
        d["desc"]["option"] = 5  # Direct | FixedShape, as CASA writes scalar cal columns
    arr = {
        **({"FPARAM": makearrcoldesc("FPARAM", 0.0, valuetype="float", datamanagergroup="MSMTAB")}
           if float_par else
           {"CPARAM": makearrcoldesc("CPARAM", 0j, valuetype="complex", datamanagergroup="MSMTAB")}),
        "PARAMERR": makearrcoldesc("PARAMERR", 0.0, valuetype="float", datamanagergroup="MSMTAB"),
        "FLAG": makearrcoldesc("FLAG", False, valuetype="boolean", datamanagergroup="MSMTAB"),
        "SNR": makearrcoldesc("SNR", 0.0, valuetype="float", datamanagergroup="MSMTAB"),
        "WEIGHT": makearrcoldesc("WEIGHT", 0.0, valuetype="float", datamanagergroup="MSMTAB"),
    }
    return {**sc, **arr}


def _dir_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def write_caltable(path: str, ct: CalTable, ms_path: str, spw_chan_freq: dict[int, tuple] | None,
                   overwrite: bool = True) -> None:
    """Write `ct` as a CASA NewCalTable at `path`, subtables copied from the MS at `ms_path`.

    spw_chan_freq: spw -> (mean frequency of the solved channels, summed width) written into
    the table's SPECTRAL_WINDOW (one channel per spw); None keeps the MS's channels (B, Tsys
    and channelised tables). K and Tsys tables (ct.fparam set) get ParType Float and FPARAM.
    """
    from casacore.tables import maketabdesc, table, tablecopy
    if os.path.exists(path):
        if not overwrite:
            raise CalTableError(f"{path} exists; choose another name or allow overwrite")
        shutil.rmtree(path)
    cells = ct.cparam.size * 17 + (ct.fparam.size * 4 if ct.fparam is not None else 0)   # params, errors, flags, snr
    subs = sum(_dir_bytes(os.path.join(ms_path, s)) for s in ("ANTENNA", "FIELD", "SPECTRAL_WINDOW", "OBSERVATION"))
    ensure_room(os.path.dirname(path) or ".", cells + 64 * len(ct.time) + subs + 2e5, os.path.basename(path))
    cols = _coldescs(ct.fparam is not None)
    desc = maketabdesc(list(cols.values()))
    dminfo = {"*1": {"TYPE": "StandardStMan", "NAME": "MSMTAB",
                     "SPEC": {"BUCKETSIZE": 2560}, "COLUMNS": list(cols)}}
    tb = table(path, desc, dminfo=dminfo, nrow=len(ct.time), ack=False)
    try:
        tb.putinfo({"type": "Calibration", "subType": ct.viscal, "readme": ""})
        n = len(ct.time)
        if n:
            tb.putcol("TIME", np.asarray(ct.time, float))
            tb.putcol("FIELD_ID", np.asarray(ct.field_id, np.int32))
            tb.putcol("SPECTRAL_WINDOW_ID", np.asarray(ct.spw_id, np.int32))
            tb.putcol("ANTENNA1", np.asarray(ct.antenna1, np.int32))
            tb.putcol("ANTENNA2", np.asarray(ct.antenna2, np.int32))
            tb.putcol("INTERVAL", np.zeros(n) if ct.interval is None else ct.interval)
            tb.putcol("SCAN_NUMBER", np.asarray(ct.scan, np.int32))
            tb.putcol("OBSERVATION_ID", np.zeros(n, np.int32) if ct.obs_id is None
                      else np.asarray(ct.obs_id, np.int32))
            if ct.fparam is not None:
                tb.putcol("FPARAM", np.asarray(ct.fparam, np.float32))
            else:
                tb.putcol("CPARAM", np.asarray(ct.cparam, np.complex64))
            tb.putcol("PARAMERR", np.asarray(ct.paramerr, np.float32))
            tb.putcol("FLAG", np.asarray(ct.flag, bool))
            tb.putcol("SNR", np.asarray(ct.snr, np.float32))
        for sub in ("OBSERVATION", "ANTENNA", "FIELD"):
            tablecopy(os.path.join(ms_path, sub), os.path.join(path, sub), deep=True)
        if spw_chan_freq is None:
            tablecopy(os.path.join(ms_path, "SPECTRAL_WINDOW"), os.path.join(path, "SPECTRAL_WINDOW"),
                      deep=True)
        else:
            _write_spw(os.path.join(ms_path, "SPECTRAL_WINDOW"), os.path.join(path, "SPECTRAL_WINDOW"),
                       spw_chan_freq)
        _write_history(os.path.join(ms_path, "HISTORY"), os.path.join(path, "HISTORY"))
        # CASA_Version: CASA >= 5.3 pivots K delays on the table's channel frequency, older
        # tables (no version) on REF_FREQUENCY; we write the modern layout and say so
        kw = {"ParType": "Float" if ct.fparam is not None else "Complex",
              "MSName": os.path.basename(ms_path.rstrip("/")), "VisCal": ct.viscal,
              "PolBasis": "unknown", "CASA_Version": f"fluxpipe-{__version__}",
              "fluxpipe_version": __version__}
        for sub in ("OBSERVATION", "ANTENNA", "FIELD", "SPECTRAL_WINDOW", "HISTORY"):
            kw[sub] = "Table: " + os.path.abspath(os.path.join(path, sub))
        tb.putkeywords(kw)
    finally:
        tb.close()


def _write_spw(src: str, dst: str, spw_chan_freq: dict[int, tuple]) -> None:
    from casacore.tables import table
    s = table(src, ack=False)
    s.copy(dst, deep=True, valuecopy=True, copynorows=True).close()
    t = table(dst, ack=False, readonly=False)
    s_n = s.nrows()
    t.addrows(s_n)
    for i in range(s_n):
        cf = np.asarray(s.getcell("CHAN_FREQ", i), float)
        cw = np.asarray(s.getcell("CHAN_WIDTH", i), float)
        f, w = spw_chan_freq.get(i, (float(cf.mean()), float(cw.sum())))
        for c in ("MEAS_FREQ_REF", "FLAG_ROW", "FREQ_GROUP", "IF_CONV_CHAIN", "NAME",
                  "NET_SIDEBAND"):
            t.putcell(c, i, s.getcell(c, i))
        t.putcell("FREQ_GROUP_NAME", i, s.getcell("FREQ_GROUP_NAME", i) or "none")
        t.putcell("NUM_CHAN", i, 1)
        t.putcell("CHAN_FREQ", i, np.array([f]))
        t.putcell("REF_FREQUENCY", i, f)
        t.putcell("CHAN_WIDTH", i, np.array([w]))
        t.putcell("EFFECTIVE_BW", i, np.array([w]))
        t.putcell("RESOLUTION", i, np.array([f]))
        t.putcell("TOTAL_BANDWIDTH", i, f)
    t.close()
    s.close()


def _write_history(src: str, dst: str) -> None:
    from casacore.tables import table
    if os.path.exists(os.path.join(src, "table.dat")):
        s = table(src, ack=False)
        s.copy(dst, deep=True, valuecopy=True, copynorows=True).close()
        s.close()


def read_caltable(path: str) -> CalTable:
    """Read a G, T, B, K or B TSYS table written by CASA or by fluxpipe. A table casacore cannot
    read (truncated, damaged) or one without what a caltable has (its columns, SPECTRAL_WINDOW)
    is a one-line CalTableError naming it."""
    try:
        return _read_caltable(path)
    except (RuntimeError, KeyError, OSError) as exc:      # casacore's errors, a missing column
        first = first_line(exc, 120)
        raise CalTableError(f"'{path}' cannot be read as a calibration table ({first}); give an "
                            f"intact table written by gaincal/bandpass or fluxpipe") from None


def _read_caltable(path: str) -> CalTable:
    from casacore.tables import table
    if not os.path.exists(os.path.join(str(path), "table.dat")):
        raise CalTableError(f"'{path}' is not a calibration table (no table.dat); give the path "
                            f"of a table written by gaincal/bandpass or fluxpipe")
    tb = table(str(path), ack=False)
    try:
        info = tb.info()
        sub = info.get("subType", "")
        if info.get("type") != "Calibration" or sub not in VISCAL.values():
            raise CalTableError(f"'{path}' is a '{info.get('type')}/{sub}' table; fluxpipe reads "
                                f"Calibration tables of type {', '.join(VISCAL.values())}")
        kw = tb.getkeywords()
        want = "Float" if sub in FLOAT_TYPES else "Complex"
        if kw.get("ParType", "Complex") != want:
            raise CalTableError(f"'{path}' ({sub}) has ParType {kw.get('ParType')}; expected {want}")
        n = tb.nrows()
        g = lambda c: tb.getcol(c) if n else np.array([])  # noqa: E731
        fpar = g("FPARAM") if want == "Float" else None
        cpar = g("CPARAM") if want == "Complex" else np.ones(np.shape(fpar), np.complex64)
        ct = CalTable(sub, g("TIME"), g("FIELD_ID"), g("SPECTRAL_WINDOW_ID"), g("ANTENNA1"),
                      g("ANTENNA2"), g("SCAN_NUMBER"), cpar, g("PARAMERR"), g("FLAG"),
                      g("SNR"), g("INTERVAL"), g("OBSERVATION_ID"), fpar, str(kw.get("MSName", "")),
                      path=os.path.abspath(str(path)))
    finally:
        tb.close()
    if not os.path.exists(os.path.join(str(path), "SPECTRAL_WINDOW", "table.dat")):
        raise CalTableError(f"'{path}' has no SPECTRAL_WINDOW subtable; give a complete calibration table")
    s = table(os.path.join(str(path), "SPECTRAL_WINDOW"), ack=False)
    ct.spw_freq = {i: np.asarray(s.getcell("CHAN_FREQ", i), float) for i in range(s.nrows())}
    s.close()
    for sub, attr in (("FIELD", "field_names"), ("ANTENNA", "antenna_names")):
        p = os.path.join(str(path), sub)
        if os.path.exists(os.path.join(p, "table.dat")):
            t = table(p, ack=False)
            setattr(ct, attr, list(t.getcol("NAME")))
            t.close()
    return ct
