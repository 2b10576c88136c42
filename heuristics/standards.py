"""Flux-density standards: source names and the spectral forms (pure functions of frequency).

The standards' coefficients and ranges are a table in the framework (fluxpipe.models.standards);
here are the forms they use and the names calibrators go by.
"""
from __future__ import annotations

import re

import numpy as np

# canonical name (CASA's) -> the names it goes by (3C, B1950, J2000, common names)
ALIASES = {
    "3C286": ["3C286", "1331+305", "1328+307", "J1331+3030", "1331+30"],
    "3C48": ["3C48", "0137+331", "0134+329", "J0137+3309", "0137+33"],
    "3C138": ["3C138", "0521+166", "0518+165", "J0521+1638", "0521+16"],
    "3C147": ["3C147", "0542+498", "0538+498", "J0542+4951", "0542+49"],
    "3C295": ["3C295", "1411+522", "1409+524", "J1411+5212"],
    "3C196": ["3C196", "0813+482", "0809+483", "J0813+4813"],
    "3C123": ["3C123", "0437+296", "0433+295", "J0437+2940"],
    "3C380": ["3C380", "1829+487", "1828+487", "J1829+4844"],
    "1934-638": ["1934-638", "J1939-6342", "1939-637", "PKS1934-638", "PKSB1934-638"],
    "J0133-3629": ["J0133-3629"],
    "J0444-2809": ["J0444-2809"],
    "3C353": ["3C353", "1720-006", "J1720-0058"],
    "3C444": ["3C444", "2214-170", "J2214-1701"],
    "FORNAX_A": ["FORNAX_A", "FORNAXA", "FORNAX A", "J0322-3712"],
    "PICTOR_A": ["PICTOR_A", "PICTORA", "PICTOR A", "J0519-4546"],
    "TAURUS_A": ["TAURUS_A", "TAURUSA", "TAURUS A", "3C144", "J0534+2200"],
    "HYDRA_A": ["HYDRA_A", "HYDRAA", "HYDRA A", "3C218", "J0918-1205"],
    "VIRGO_A": ["VIRGO_A", "VIRGOA", "VIRGO A", "3C274", "M87", "J1230+1223"],
    "HERCULES_A": ["HERCULES_A", "HERCULESA", "HERCULES A", "3C348", "J1651+0459"],
    "CYGNUS_A": ["CYGNUS_A", "CYGNUSA", "CYGNUS A", "3C405", "J1959+4044"],
    "CASSIOPEIA_A": ["CASSIOPEIA_A", "CASSIOPEIAA", "CASSIOPEIA A", "3C461", "J2323+5848"],
}


def log_polynomial(freq_hz: np.ndarray, coeffs, unit_hz: float) -> np.ndarray:
    """10^(sum_i c_i x^i), x = log10(nu / unit): the Perley-Butler, Perley-Taylor, Baars form."""
    return power_law(freq_hz, 10 ** coeffs[0], unit_hz, coeffs[1:])


def scaife_heald(freq_hz: np.ndarray, coeffs) -> np.ndarray:
    """Scaife & Heald 2012: S = A0 10^(sum_i>0 A_i x^i), x = log10(nu / 150 MHz)."""
    return power_law(freq_hz, coeffs[0], 150e6, coeffs[1:])


def nearest_epoch(epochs: np.ndarray, table: list, year: float | None) -> list:
    """The coefficients of the epoch nearest `year` (setjy's interpolation='nearest'); the
    latest epoch when no year is given."""
    k = len(epochs) - 1 if year is None else int(np.argmin(np.abs(np.asarray(epochs) - year)))
    return table[k]


def decimal_year(mjd_s: float) -> float:
    """MJD seconds -> decimal year (Julian years from J2000)."""
    return 2000.0 + (mjd_s / 86400.0 - 51544.5) / 365.25


def standard_name(field_name: str) -> str | None:
    """'1331+30500002_0' -> '3C286'; None when the field is not a standard calibrator."""
    n = field_name.strip().upper().replace(" ", "")
    for std, names in ALIASES.items():
        for a in names:
            a = a.upper().replace(" ", "")
            if n == a or (n.startswith(a) and not n[len(a):len(a) + 1].isalnum()):
                return std
            # VLA style: name followed by digits/underscore suffix, e.g. 1331+30500002_0
            if re.fullmatch(re.escape(a) + r"[0-9]*(_\d+)?", n) and len(a) >= 8:
                return std
    return None


def power_law(freq_hz: np.ndarray, s0: float, reffreq_hz: float, spix) -> np.ndarray:
    """S0 (nu/nu0)^alpha, or with a list [a, b, ...]: log10 S = log10 S0 + a x + b x^2 ..., x = log10(nu/nu0)."""
    x = np.log10(np.asarray(freq_hz, float) / reffreq_hz)
    coefs = [spix] if np.isscalar(spix) else list(spix)
    logs = np.zeros_like(x)
    for i, c in enumerate(coefs):
        logs += c * x ** (i + 1)
    return s0 * 10 ** logs
