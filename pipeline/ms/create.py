"""Create a new, valid MeasurementSet (all required subtables) with python-casacore.

Used by the simulator. The main table gets DATA (and optionally WEIGHT_SPECTRUM) in tiled
storage managers as CASA writes them; subtables are filled from plain Python descriptions.
"""
from __future__ import annotations

import numpy as np

CORR_CODES = {"XX": 9, "XY": 10, "YX": 11, "YY": 12, "RR": 5, "RL": 6, "LR": 7, "LL": 8}


def create_ms(path: str, *, antennas: list[dict], fields: list[dict], spws: list[dict],
              corrs: list[str], states: list[str], telescope: str, time_range: tuple[float, float],
              weight_spectrum: bool = False) -> None:
    """Write an empty MS with filled subtables. Rows are added by the caller.

    antennas: {name, station, position (ITRF m), diameter}; fields: {name, ra, dec};
    spws: {name, chan_freq, chan_width}; states: OBS_MODE strings.
    """
    from casacore.tables import default_ms, makearrcoldesc, maketabdesc, table

    cols = [makearrcoldesc("DATA", 0j, valuetype="complex", ndim=2,
                           comment="The data column")]
    dminfo = {"*d": {"TYPE": "TiledShapeStMan", "NAME": "TiledData",
                     "SPEC": {"DEFAULTTILESHAPE": np.array([2, 16, 512], np.int32)},
                     "COLUMNS": ["DATA"]}}
    if weight_spectrum:
        cols.append(makearrcoldesc("WEIGHT_SPECTRUM", 0.0, valuetype="float", ndim=2,
                                   comment="Weight for each channel"))
        dminfo["*w"] = {"TYPE": "TiledShapeStMan", "NAME": "TiledWgtSpectrum",
                        "SPEC": {"DEFAULTTILESHAPE": np.array([2, 16, 512], np.int32)},
                        "COLUMNS": ["WEIGHT_SPECTRUM"]}
    # storage layout as CASA's importers write it: tiled FLAG/WEIGHT/SIGMA/UVW, incremental
    # storage for the slowly changing scalar columns
    for name, col in (("TiledFlag", "FLAG"), ("TiledWgt", "WEIGHT"), ("TiledSigma", "SIGMA")):
        dminfo[name] = {"TYPE": "TiledShapeStMan", "NAME": name, "COLUMNS": [col],
                        "SPEC": {"DEFAULTTILESHAPE": np.array([2, 16, 512] if col == "FLAG"
                                                              else [2, 1024], np.int32)}}
    dminfo["TiledUVW"] = {"TYPE": "TiledColumnStMan", "NAME": "TiledUVW", "COLUMNS": ["UVW"],
                          "SPEC": {"DEFAULTTILESHAPE": np.array([3, 1024], np.int32)}}
    dminfo["ISMData"] = {"TYPE": "IncrementalStMan", "NAME": "ISMData", "SPEC": {},
                         "COLUMNS": ["ARRAY_ID", "EXPOSURE", "FEED1", "FEED2", "FIELD_ID",
                                     "FLAG_ROW", "INTERVAL", "OBSERVATION_ID", "PROCESSOR_ID",
                                     "SCAN_NUMBER", "STATE_ID", "TIME", "TIME_CENTROID"]}
    tb = default_ms(path, maketabdesc(cols), dminfo)
    tb.close()

    def fill(sub: str, n: int, values: dict) -> None:
        t = table(f"{path}/{sub}", ack=False, readonly=False)
        t.addrows(n)
        for col, val in values.items():
            t.putcol(col, val)
        t.close()

    na = len(antennas)
    fill("ANTENNA", na, {
        "NAME": [a["name"] for a in antennas], "STATION": [a["station"] for a in antennas],
        "TYPE": ["GROUND-BASED"] * na, "MOUNT": ["ALT-AZ"] * na,
        "POSITION": np.array([a["position"] for a in antennas], float),
        "OFFSET": np.zeros((na, 3)), "DISH_DIAMETER": np.array([a["diameter"] for a in antennas]),
        "FLAG_ROW": np.zeros(na, bool)})
    basis = ["X", "Y"] if corrs[0][0] in "XY" else ["R", "L"]
    fill("FEED", na, {
        "ANTENNA_ID": np.arange(na, dtype=np.int32), "FEED_ID": np.zeros(na, np.int32),
        "SPECTRAL_WINDOW_ID": np.full(na, -1, np.int32), "TIME": np.full(na, time_range[0]),
        "INTERVAL": np.full(na, time_range[1] - time_range[0]),
        "NUM_RECEPTORS": np.full(na, 2, np.int32), "BEAM_ID": np.full(na, -1, np.int32),
        "BEAM_OFFSET": np.zeros((na, 2, 2)), "POLARIZATION_TYPE": np.array([basis] * na),
        "POL_RESPONSE": np.tile(np.eye(2, dtype=np.complex64), (na, 1, 1)),
        "POSITION": np.zeros((na, 3)), "RECEPTOR_ANGLE": np.tile([0.0, np.pi / 2], (na, 1))})
    nf = len(fields)
    dirs = np.array([[[f["ra"], f["dec"]]] for f in fields], float)
    fill("FIELD", nf, {
        "NAME": [f["name"] for f in fields], "CODE": ["none"] * nf,
        "TIME": np.full(nf, time_range[0]), "NUM_POLY": np.zeros(nf, np.int32),
        "DELAY_DIR": dirs, "PHASE_DIR": dirs, "REFERENCE_DIR": dirs,
        "SOURCE_ID": np.arange(nf, dtype=np.int32), "FLAG_ROW": np.zeros(nf, bool)})
    t = table(f"{path}/SPECTRAL_WINDOW", ack=False, readonly=False)
    t.addrows(len(spws))
    for i, s in enumerate(spws):
        cf, cw = np.asarray(s["chan_freq"], float), np.asarray(s["chan_width"], float)
        t.putcell("NUM_CHAN", i, len(cf))
        t.putcell("NAME", i, s["name"])
        t.putcell("REF_FREQUENCY", i, float(cf[0]))
        t.putcell("CHAN_FREQ", i, cf)
        t.putcell("CHAN_WIDTH", i, cw)
        t.putcell("EFFECTIVE_BW", i, np.abs(cw))
        t.putcell("RESOLUTION", i, np.abs(cw))
        t.putcell("TOTAL_BANDWIDTH", i, float(np.abs(cw).sum()))
        t.putcell("MEAS_FREQ_REF", i, 5)  # TOPO
        t.putcell("NET_SIDEBAND", i, 1)
        t.putcell("IF_CONV_CHAIN", i, 0)
        t.putcell("FREQ_GROUP", i, 0)
        t.putcell("FREQ_GROUP_NAME", i, "")
        t.putcell("FLAG_ROW", i, False)
    t.close()
    ncorr = len(corrs)
    prods = {"X": 0, "Y": 1, "R": 0, "L": 1}
    fill("POLARIZATION", 1, {
        "NUM_CORR": np.array([ncorr], np.int32),
        "CORR_TYPE": np.array([[CORR_CODES[c] for c in corrs]], np.int32),
        "CORR_PRODUCT": np.array([[[prods[c[0]], prods[c[1]]] for c in corrs]], np.int32),
        "FLAG_ROW": np.zeros(1, bool)})
    nspw = len(spws)
    fill("DATA_DESCRIPTION", nspw, {
        "SPECTRAL_WINDOW_ID": np.arange(nspw, dtype=np.int32),
        "POLARIZATION_ID": np.zeros(nspw, np.int32), "FLAG_ROW": np.zeros(nspw, bool)})
    fill("OBSERVATION", 1, {
        "TELESCOPE_NAME": [telescope], "TIME_RANGE": np.array([time_range], float),
        "OBSERVER": ["fluxpipe.simulate"], "PROJECT": ["fluxpipe-sim"],
        "RELEASE_DATE": np.array([time_range[0]]), "SCHEDULE_TYPE": [""],
        "FLAG_ROW": np.zeros(1, bool)})
    ns = len(states)
    fill("STATE", ns, {
        "OBS_MODE": states, "CAL": np.zeros(ns), "LOAD": np.zeros(ns),
        "SIG": np.ones(ns, bool), "REF": np.zeros(ns, bool),
        "SUB_SCAN": np.zeros(ns, np.int32), "FLAG_ROW": np.zeros(ns, bool)})
    fill("PROCESSOR", 1, {"TYPE": ["CORRELATOR"], "SUB_TYPE": [telescope],
                          "TYPE_ID": np.zeros(1, np.int32), "MODE_ID": np.zeros(1, np.int32),
                          "FLAG_ROW": np.zeros(1, bool)})
