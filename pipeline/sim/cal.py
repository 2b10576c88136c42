"""Simulated instrumental gains, bandpass and delays (truth), and their CASA-layout K and B tables.

Gains: `make_gain_truth` draws them, `gains_at` evaluates them (see sim.simulate's docstring for
the model), with the presets' optional slow drifts (linear and airmass), dispersive phase and
amplitude random walks.

Per antenna a and polarisation p: a delay tau[a, p] (ns, a few tenths), the same in every spw,
and per spw a bandpass B[a, p, s](nu) = (1 + r sin(2 pi k x + psi)) / sqrt(1 + (x / 0.45)^16)
* exp(i q sin(2 pi k' x + psi')), x = (nu - nu_centre) / bandwidth (ripples and an edge
roll-off). The data carry g(t) * exp(2 pi i tau (nu - nu_centre)) * B(nu) per antenna, so a K
table of tau pivoted on the spw centre and a B table of B remove them exactly.
"""
from __future__ import annotations

import numpy as np

from ..caltable import CalTable, write_caltable
from .geometry import gmst_rad
from .presets import ALMA_SITE


def make_gain_truth(nant: int, nspw: int, t0: float, rng: np.random.Generator) -> dict:
    return {
        "t0": t0,
        "amp": (1.0 + 0.08 * rng.standard_normal((nant, 2, nspw))).clip(0.6, 1.4).tolist(),
        "amp_drift": (0.005 * rng.uniform(0.5, 1.0, nant)).tolist(),
        "amp_period": rng.uniform(1800, 5400, nant).tolist(),
        "amp_psi": rng.uniform(0, 2 * np.pi, nant).tolist(),
        "phase0": rng.uniform(-np.pi, np.pi, (nant, 2, nspw)).tolist(),
        "phase_rate": (rng.standard_normal(nant) * 1.0 / 1200).tolist(),
        "phase_wobble": rng.uniform(0.05, 0.3, nant).tolist(),
        "wobble_period": rng.uniform(300, 900, nant).tolist(),
        "wobble_psi": rng.uniform(0, 2 * np.pi, nant).tolist(),
    }


def gains_at(truth: dict, times: np.ndarray) -> np.ndarray:
    """True complex gains (ntime, nant, npol=2, nspw) at MJD-second `times` (no faults)."""
    g = truth["gains"] if "gains" in truth else truth
    dt = np.asarray(times, float)[:, None] - g["t0"]                       # (t, 1)
    amp = np.asarray(g["amp"])[None]                                      # (1, a, p, s)
    drift = 1 + np.asarray(g["amp_drift"]) * np.sin(
        2 * np.pi * dt / np.asarray(g["amp_period"]) + np.asarray(g["amp_psi"]))   # (t, a)
    ph = (np.asarray(g["phase_rate"]) * dt + np.asarray(g["phase_wobble"]) * np.sin(
        2 * np.pi * dt / np.asarray(g["wobble_period"]) + np.asarray(g["wobble_psi"])))  # (t, a)
    # a dispersive (tropospheric) phase grows with frequency: nu_spw / nu_ref per spw
    scale = np.asarray(g.get("phase_scale", [1.0]))[None, None, None, :]
    phase = np.asarray(g["phase0"])[None] + ph[:, :, None, None] * scale
    if "drift_rate_per_h" in g:   # slow drifts: linear per antenna, and elevation-like
        hours = (np.asarray(times, float) - g["t_mid"]) / 3600
        airmass = _airmass(np.asarray(times, float), g["lst_ra"], g["lat"])
        drift = drift * (1 + np.asarray(g["drift_rate_per_h"])[None] * hours[:, None]) \
            * np.exp(-np.asarray(g["airmass_coeff"])[None] * (airmass[:, None] - 1))
    if "walk" in g:     # an amplitude random walk per antenna, sampled every walk_dt seconds
        w = np.asarray(g["walk"])                                               # (ant, grid)
        x = (np.asarray(times, float) - g["walk_t0"]) / g["walk_dt"]
        grid = np.arange(w.shape[1])
        drift = drift * np.stack([np.interp(x, grid, w[a]) for a in range(w.shape[0])], axis=1)
    return amp * drift[:, :, None, None] * np.exp(1j * phase)


def _airmass(times: np.ndarray, ra: float, lat: float) -> np.ndarray:
    """1/sin(elevation) of a source at right ascension `ra` from latitude `lat` (floor 0.2)."""
    ha = gmst_rad(times) + ALMA_SITE[0] - ra
    dec = -0.3
    sin_el = np.sin(lat) * np.sin(dec) + np.cos(lat) * np.cos(dec) * np.cos(ha)
    return 1 / np.maximum(sin_el, 0.2)


def make_bandpass_truth(nant: int, spw_freqs: list[np.ndarray], rng: np.random.Generator) -> dict:
    nspw = len(spw_freqs)
    return {
        "delay_ns": rng.normal(0, 0.3, (nant, 2)).tolist(),
        "ripple": rng.uniform(0.01, 0.04, (nant, 2, nspw)).tolist(),
        "ripple_cycles": rng.uniform(1.0, 3.0, (nant, 2, nspw)).tolist(),
        "ripple_psi": rng.uniform(0, 2 * np.pi, (nant, 2, nspw)).tolist(),
        "phase_ripple": rng.uniform(0.02, 0.15, (nant, 2, nspw)).tolist(),
        "phase_cycles": rng.uniform(0.5, 2.0, (nant, 2, nspw)).tolist(),
        "phase_psi": rng.uniform(0, 2 * np.pi, (nant, 2, nspw)).tolist(),
        "centre_hz": [float(0.5 * (f.min() + f.max())) for f in spw_freqs],
        "bandwidth_hz": [float(f.max() - f.min() + (f[1] - f[0] if len(f) > 1 else 0)) for f in spw_freqs],
    }


def bandpass_at(bp: dict, spw: int, freq: np.ndarray) -> np.ndarray:
    """B[a, p](nu) for spw `spw` at `freq`: (nant, 2, nchan) complex."""
    x = (np.asarray(freq) - bp["centre_hz"][spw]) / bp["bandwidth_hz"][spw]
    sel = lambda k: np.asarray(bp[k])[:, :, spw][..., None]  # noqa: E731
    amp = (1 + sel("ripple") * np.sin(2 * np.pi * sel("ripple_cycles") * x + sel("ripple_psi"))) \
        / np.sqrt(1 + (x / 0.45) ** 16)
    ph = sel("phase_ripple") * np.sin(2 * np.pi * sel("phase_cycles") * x + sel("phase_psi"))
    return amp * np.exp(1j * ph)


def channel_factors(bp: dict, spw: int, freq: np.ndarray) -> np.ndarray:
    """Delay and bandpass together: (nant, 2, nchan) complex."""
    tau = np.asarray(bp["delay_ns"])[..., None]
    dnu = (np.asarray(freq) - bp["centre_hz"][spw]) / 1e9
    return np.exp(2j * np.pi * tau * dnu) * bandpass_at(bp, spw, freq)


def write_true_tables(ms: str, truth: dict, k_path: str, b_path: str, field_id: int = 0) -> None:
    """The simulation's true delays (K) and bandpass (B) as CASA caltables of `ms`."""
    bp = truth["bandpass"]
    nant = len(truth["antennas"])
    spws = [s for s in truth["spws"] if s["id"] < len(bp["centre_hz"])]
    t = float(np.mean([s["start"] for s in truth["scans"]]))
    rows = [(s["id"], a) for s in spws for a in range(nant)]
    n = len(rows)
    ids = lambda k: np.array([r[k] for r in rows])  # noqa: E731
    tau = np.asarray(bp["delay_ns"])
    k = CalTable("K Jones", np.full(n, t), np.full(n, field_id), ids(0), ids(1), np.zeros(n, int),
                 np.full(n, -1), np.ones((n, 1, 2), np.complex64), np.zeros((n, 1, 2), np.float32),
                 np.zeros((n, 1, 2), bool), np.full((n, 1, 2), 100.0, np.float32),
                 fparam=np.stack([tau[a] for _, a in rows])[:, None, :].astype(np.float32))
    write_caltable(k_path, k, ms, {s["id"]: (bp["centre_hz"][s["id"]], bp["bandwidth_hz"][s["id"]])
                                   for s in spws})
    cp = np.stack([np.transpose(bandpass_at(bp, s["id"], np.asarray(s["chan_freq_hz"]))[a])
                   for s in spws for a in range(nant)]).astype(np.complex64)        # (row, chan, pol)
    b = CalTable("B Jones", np.full(n, t), np.full(n, field_id), ids(0), ids(1), np.zeros(n, int),
                 np.full(n, -1), cp, np.zeros(cp.shape, np.float32), np.zeros(cp.shape, bool),
                 np.full(cp.shape, 100.0, np.float32))
    write_caltable(b_path, b, ms, None)
