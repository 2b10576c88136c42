"""Flux-density standards and simple spectral models (pure functions of frequency).

Perley & Butler 2017 (ApJS 230, 7), Table 6: log10 S[Jy] = sum_i a_i (log10 nu_GHz)^i.
fluxpipe uses the published polynomial for all four sources; the slow secular variability of
3C48, 3C138 and 3C147 that CASA models with epoch tables is NOT modelled (documented limit:
expect a few per cent at high frequencies for those three).
"""
from __future__ import annotations

import re

import numpy as np

PB2017 = {
    "3C286": [1.2481, -0.4507, -0.1798, 0.0357],
    "3C48": [1.3253, -0.7553, -0.1914, 0.0498],
    "3C138": [1.0088, -0.4981, -0.155, -0.010, 0.022],
    "3C147": [1.4516, -0.6961, -0.2007, 0.0640, -0.0464, 0.0289],
}

ALIASES = {
    "3C286": ["3C286", "1331+305", "1328+307", "J1331+3030", "1331+30"],
    "3C48": ["3C48", "0137+331", "0134+329", "J0137+3309", "0137+33"],
    "3C138": ["3C138", "0521+166", "0518+165", "J0521+1638", "0521+16"],
    "3C147": ["3C147", "0542+498", "0538+498", "J0542+4951", "0542+49"],
}


def standard_name(field_name: str) -> str | None:
    """'1331+30500002_0' -> '3C286'; None when the field is not a standard calibrator."""
    n = field_name.strip().upper().replace(" ", "")
    for std, names in ALIASES.items():
        for a in names:
            a = a.upper()
            if n == a or (n.startswith(a) and not n[len(a):len(a) + 1].isalnum()):
                return std
            # VLA style: name followed by digits/underscore suffix, e.g. 1331+30500002_0
            if re.fullmatch(re.escape(a) + r"[0-9]*(_\d+)?", n) and len(a) >= 8:
                return std
    return None


def perley_butler_2017(source: str, freq_hz: np.ndarray) -> np.ndarray:
    if source not in PB2017:
        raise KeyError(f"{source} is not in Perley-Butler 2017; known: {', '.join(PB2017)}")
    x = np.log10(np.asarray(freq_hz, float) / 1e9)
    return 10 ** sum(c * x ** i for i, c in enumerate(PB2017[source]))


def power_law(freq_hz: np.ndarray, s0: float, reffreq_hz: float, spix) -> np.ndarray:
    """S0 (nu/nu0)^alpha, or with a list [a, b, ...]: log10 S = log10 S0 + a x + b x^2 ..., x = log10(nu/nu0)."""
    x = np.log10(np.asarray(freq_hz, float) / reffreq_hz)
    coefs = [spix] if np.isscalar(spix) else list(spix)
    logs = np.zeros_like(x)
    for i, c in enumerate(coefs):
        logs += c * x ** (i + 1)
    return s0 * 10 ** logs
