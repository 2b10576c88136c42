"""Observation presets of the simulator: array, spectral setup, sources, schedule."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import PipelineError

ALMA_SITE = (-67.7548 * np.pi / 180, -23.0229 * np.pi / 180, 5058.7)  # lon, lat, height
VLA_SITE = (-107.6184 * np.pi / 180, 34.0784 * np.pi / 180, 2124.0)

INTENT_MODES = {
    "AMPLITUDE": "CALIBRATE_FLUX#ON_SOURCE,CALIBRATE_WVR#ON_SOURCE",
    "BANDPASS": "CALIBRATE_BANDPASS#ON_SOURCE,CALIBRATE_WVR#ON_SOURCE",
    "PHASE": "CALIBRATE_PHASE#ON_SOURCE,CALIBRATE_WVR#ON_SOURCE",
    "CHECK": "OBSERVE_CHECK_SOURCE#ON_SOURCE,CALIBRATE_WVR#ON_SOURCE",
    "TARGET": "OBSERVE_TARGET#ON_SOURCE",
}


@dataclass
class SourceSpec:
    name: str
    intent: str
    ra_h: float
    dec_deg: float
    flux: float          # Jy at reffreq
    spix: float
    disk_arcsec: float = 0.0  # > 0: resolved disk of this diameter; < 0: from the body's ephemeris
    limb: float = 0.0         # limb darkening exponent: I(r) ~ (1 - r^2)^limb
    radius_km: float = 0.0    # a solar-system body's mean radius (with disk_arcsec < 0)
    bjh: bool = False         # the body's Butler-JPL-Horizons 2012 model (elliptical, per channel), no flux.csv row


@dataclass
class Preset:
    name: str
    telescope: str
    nant: int
    r_min: float
    r_max: float
    spw_centres_ghz: list[float]
    nchan: int
    spw_bw_mhz: float
    sefd_jy: float
    tint: float
    sources: list[SourceSpec]
    schedule: list[tuple[str, float]]  # (source name, seconds)
    reffreq_ghz: float
    catalogue_error: float = 0.05   # fractional offsets of non-reference catalogue fluxes
    site: tuple = ALMA_SITE
    corrs: tuple = ("XX", "YY")
    weight_spectrum: bool = False
    faults: dict = field(default_factory=dict)
    nchan_per_spw: list[int] | None = None   # spws of different shapes (else nchan for all)
    ch_avg_of: int | None = None   # add a 1-channel CH_AVG copy of this spw (ALMA's #CH_AVG)
    interleave: bool = False       # rows ordered time, spw, baseline (as ALMA writes them)
    ephemeris_table: bool = False  # attach FIELD/EPHEM*.tab to ephemeris sources (as ALMA does)
    bandpass: bool = False         # per-antenna delays and bandpass ripples/roll-off (simcal)
    drift: bool = False            # gain drifts: ~3 %/h linear per antenna and an airmass term
    dispersive: bool = False       # the time-variable phase scales with frequency (troposphere)
    walk: float = 0.0              # amplitude random walk per antenna: fractional step per minute

    def nchans(self) -> list[int]:
        return list(self.nchan_per_spw or [self.nchan] * len(self.spw_centres_ghz))


def _band3() -> Preset:
    src = [SourceSpec("J0423-0120", "AMPLITUDE", 4.3977, -1.3425, 3.2, -0.6),
           SourceSpec("J0510+1800", "BANDPASS", 5.1675, 18.0161, 1.8, -0.5),
           SourceSpec("J0530+1331", "PHASE", 5.5133, 13.5320, 0.9, -0.7),
           SourceSpec("J0541+1527", "CHECK", 5.6956, 15.4586, 0.25, -0.4),
           SourceSpec("TargetX", "TARGET", 5.5800, 14.2000, 0.05, 0.0)]
    sched = [("J0423-0120", 180), ("J0510+1800", 300)]
    for k in range(5):
        sched += [("J0530+1331", 60), ("TargetX", 360)]
        if k in (1, 4):
            sched += [("J0541+1527", 60)]
    sched += [("J0530+1331", 60)]
    return Preset("alma_band3", "ALMA", 25, 15.0, 330.0, [90.5, 92.5, 102.5, 104.5], 16, 1875.0,
                  2800.0, 6.0, src, sched, 97.5)


def _band6_resolved() -> Preset:
    """A limb-darkened 1.6" disk named Ganymede, its truth a power law written as a flux.csv row
    (run with setmodel.standard=flux.csv: a body's row is otherwise ignored, as ALMA does)."""
    src = [SourceSpec("Ganymede", "AMPLITUDE", 4.6, 21.5, 10.0, 2.0, disk_arcsec=1.6, limb=0.3),
           SourceSpec("J0510+1800", "BANDPASS", 5.1675, 18.0161, 1.2, -0.6),
           SourceSpec("J0530+1331", "PHASE", 5.5133, 13.5320, 0.7, -0.7),
           SourceSpec("J0541+1527", "CHECK", 5.6956, 15.4586, 0.2, -0.5),
           SourceSpec("TargetY", "TARGET", 5.5800, 14.2000, 0.05, 0.0)]
    sched = [("Ganymede", 240), ("J0510+1800", 300)]
    for k in range(4):
        sched += [("J0530+1331", 60), ("TargetY", 360)]
        if k in (1, 3):
            sched += [("J0541+1527", 60)]
    sched += [("J0530+1331", 60)]
    return Preset("alma_band6_resolved", "ALMA", 25, 15.0, 700.0, [224.0, 226.0, 240.0, 242.0],
                  16, 1875.0, 4500.0, 6.0, src, sched, 233.0)


def _small() -> Preset:
    """A tiny observation for fast unit tests (8 antennas, 2 spws x 8 channels, ~8 min)."""
    src = [SourceSpec("J0423-0120", "AMPLITUDE", 4.3977, -1.3425, 3.2, -0.6),
           SourceSpec("J0530+1331", "PHASE", 5.5133, 13.5320, 1.0, -0.7),
           SourceSpec("TargetX", "TARGET", 5.5800, 14.2000, 0.05, 0.0)]
    sched = [("J0423-0120", 120), ("J0530+1331", 60), ("TargetX", 120), ("J0530+1331", 60),
             ("TargetX", 120), ("J0530+1331", 60)]
    return Preset("small", "ALMA", 8, 15.0, 250.0, [100.0, 102.0], 8, 1875.0, 2800.0, 6.0,
                  src, sched, 101.0)


def _small_lowsnr() -> Preset:
    """8 antennas, 4 spws x 8 channels: a 3.2 Jy flux calibrator, a 0.03 Jy phase calibrator
    and a 0.01 Jy check source (per baseline, integration and polarisation about 1.6 and 0.5
    sigma): gaincal's behaviour at low SNR (SNR, flags, refant changes), against CASA."""
    p = _small()
    p.name = "small_lowsnr"
    p.spw_centres_ghz = [100.0, 102.0, 104.0, 106.0]
    p.sources = [SourceSpec("J0423-0120", "AMPLITUDE", 4.3977, -1.3425, 3.2, -0.6),
                 SourceSpec("J0530+1331", "PHASE", 5.5133, 13.5320, 0.03, 0.0),
                 SourceSpec("J0541+1527", "CHECK", 5.6956, 15.4586, 0.01, 0.0),
                 SourceSpec("TargetX", "TARGET", 5.5800, 14.2000, 0.05, 0.0)]
    p.schedule = [("J0423-0120", 120), ("J0530+1331", 60), ("J0541+1527", 30), ("TargetX", 120),
                  ("J0530+1331", 60)]
    return p


def _mixed() -> Preset:
    """A real-shaped ALMA band-3 EB: FDM and TDM windows of 128, 64, 16 and 8 channels, a
    1-channel CH_AVG copy of the first, rows interleaved in time across data descriptions."""
    p = _band3()
    p.name = "alma_mixed"
    p.nant = 16
    p.nchan_per_spw = [128, 64, 16, 8]
    p.ch_avg_of = 0
    p.interleave = True
    p.schedule = p.schedule[:9]
    return p


def _band6_planet() -> Preset:
    """Band 6 with Uranus (3.67" on 2025-01-13) as the flux calibrator, its size from the
    ephemeris, an ALMA ephemeris subtable attached (ephemeris_table=False to leave it out); its
    truth is a power law written as a flux.csv row (setmodel.standard=flux.csv uses it)."""
    p = _band6_resolved()
    p.name = "alma_band6_planet"
    p.sources[0] = SourceSpec("Uranus", "AMPLITUDE", 3.42, 18.4, 30.0, 1.9, disk_arcsec=-1.0,
                              radius_km=25362.0)
    p.schedule = [("Uranus" if n == "Ganymede" else n, d) for n, d in p.schedule]
    p.ephemeris_table = True
    return p


def _band6_bjh() -> Preset:
    """Band 6 with Uranus as the flux calibrator, its sky the Butler-JPL-Horizons 2012 model
    (per channel, elliptical; computed by the simulator's own code) and no flux.csv row for it."""
    p = _band6_planet()
    p.name = "alma_band6_bjh"
    p.sources[0] = SourceSpec("Uranus", "AMPLITUDE", 3.42, 18.4, 0.0, 0.0, disk_arcsec=-1.0,
                              radius_km=25362.0, bjh=True)
    p.ephemeris_table = False
    return p


def _band3_bandpass() -> Preset:
    """Band 3 with per-antenna delays (~0.3 ns) and bandpass ripples and roll-off in 64-channel
    windows: what precal's K and B tables must remove."""
    p = _band3()
    p.name = "alma_band3_bp"
    p.nchan = 64
    p.bandpass = True
    return p


def _band3_drift() -> Preset:
    """Band 3 whose gains drift by a few per cent per hour per antenna (linear and with
    airmass) between the flux, bandpass, phase and check scans; calibrators from 1.8 Jy to
    0.25 Jy. The case where CASA's time-averaged ratios go wrong."""
    p = _band3()
    p.name = "alma_band3_drift"
    p.drift = True
    return p


def _band3_faint(flux: float = 0.04, name: str = "alma_band3_faint") -> Preset:
    """alma_band3 with a faint check source (0.04 Jy: about 2 sigma per baseline, integration,
    polarisation and spw after channel averaging), a dispersive (tropospheric) phase and an
    amplitude random walk (0.2 % per minute) on top of an airmass term: the phase-up must
    combine spws, the amplitudes must not be biased by the noise, the gains are no polynomial."""
    p = _band3()
    p.name = name
    p.sources[3] = SourceSpec("J0541+1527", "CHECK", 5.6956, 15.4586, flux, -0.4)
    p.dispersive, p.walk, p.drift = True, 0.002, True
    return p


def _few_antennas() -> Preset:
    """A CARMA-like EB: 8 antennas, 8 spws of 16 channels at 100 GHz, a flux calibrator at SNR
    ~70 per solution (two scans), a bright phase calibrator seen in one short scan (one solution
    per antenna and spw) and another seen three times, with amplitude random walks of 1 % per
    minute (scatter well above the thermal noise, which no polynomial drift follows)."""
    src = [SourceSpec("J0423-0120", "AMPLITUDE", 4.3977, -1.3425, 1.2, -0.6),
           SourceSpec("J0510+1800", "BANDPASS", 5.1675, 18.0161, 6.0, -0.5),
           SourceSpec("J0530+1331", "PHASE", 5.5133, 13.5320, 0.9, -0.7),
           SourceSpec("TargetX", "TARGET", 5.5800, 14.2000, 0.05, 0.0)]
    sched = [("J0423-0120", 120), ("J0510+1800", 30)]
    for _ in range(3):
        sched += [("J0530+1331", 60), ("TargetX", 300)]
    sched += [("J0423-0120", 120)]
    p = Preset("few_antennas", "ALMA", 8, 10.0, 150.0, [96.0 + 1.0 * k for k in range(8)], 16, 500.0,
               6000.0, 10.0, src, sched, 99.5)
    p.walk = 0.01
    return p


def _large() -> Preset:
    """A full-size ALMA-like EB for benchmarks: 43 antennas, 4 x 64 channels, 2-s integrations,
    6.07 M rows (~7 GB of DATA, FLAG, WEIGHT); duration_scale multiplies its length."""
    p = _band3()
    p.name = "alma_large"
    p.nant, p.nchan, p.tint, p.r_max = 43, 64, 2.0, 600.0
    sched = [("J0423-0120", 180), ("J0510+1800", 300)]
    for k in range(5):
        sched += [("J0530+1331", 60), ("TargetX", 480)]
        if k in (1, 4):
            sched += [("J0541+1527", 60)]
    p.schedule = sched + [("J0530+1331", 60)]
    return p


def _small_fullpol() -> Preset:
    """'small' with all four correlations (XX, XY, YX, YY), as ALMA's polarisation EBs."""
    p = _small()
    p.name = "small_fullpol"
    p.corrs = ("XX", "XY", "YX", "YY")
    return p


PRESETS = {"alma_band3": _band3, "small_fullpol": _small_fullpol, "alma_band6_resolved": _band6_resolved, "small": _small,
           "alma_mixed": _mixed, "alma_large": _large, "alma_band6_planet": _band6_planet,
           "alma_band6_bjh": _band6_bjh, "small_lowsnr": _small_lowsnr, "alma_band3_faint": _band3_faint,
           "alma_band3_faint1": lambda: _band3_faint(0.02, "alma_band3_faint1"), "few_antennas": _few_antennas,
           "alma_band3_bp": _band3_bandpass, "alma_band3_drift": _band3_drift}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise PipelineError(f"unknown preset '{name}'; valid presets: {', '.join(PRESETS)}")
    return PRESETS[name]()


