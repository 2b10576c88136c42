"""Visibilities of a list of sky components by direct Fourier transform (numerics only).

Components: point and elliptical Gaussian, each with a flux weight w_k, an offset (l_k, m_k) from
the phase centre (direction cosines, radians) and, for a Gaussian, FWHM major/minor axes
(radians) and a position angle (radians, north through east). With u, v, w in wavelengths:

    V(u, v, w) = sum_k w_k G_k(u, v) exp(+2 pi i (u l_k + v m_k + w (n_k - 1))),  n_k = sqrt(1 - l^2 - m^2)

the sign CASA's ft gives with the MS's UVW column (checked against CASA 6.7.0.31's ft: a point
2" east and 1" north of the centre plus a 0.8" x 0.4" Gaussian at PA 30 deg agree to 1.8e-7
of 1.5 Jy; benchmarks/casa_oracle/ft_components.py). G_k is 1 for a point
and exp(-pi^2 (a^2 u'^2 + b^2 v'^2) / (4 ln 2)) for a Gaussian (a, b the FWHMs, u', v' the uv
coordinates rotated to its axes). `predict` normalises each channel by sum_k w_k(nu) (unit total
flux at every frequency), so the caller scales the result by the source's total flux spectrum
(as setjy scales a model image to the standard's flux); per-component spectral indices change
the shape with frequency, not the total.
Rows are processed in chunks of at most `budget` values: rows x components for evenly spaced
channels (a phasor recurrence over channels: one complex multiply per row, channel and component
instead of an exponential), rows x channels x components otherwise. About 2-3e8 point
component x row x channel evaluations per second on one core (benchmarks/bench_predict.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .constants import C_LIGHT


@dataclass
class Components:
    weight: np.ndarray                 # (k,) flux weights (Jy at the reference frequency, or any scale)
    l: np.ndarray                      # (k,) direction cosines east of the phase centre
    m: np.ndarray                      # (k,) north
    major: np.ndarray | None = None    # (k,) FWHM, radians (0 = point)
    minor: np.ndarray | None = None
    pa: np.ndarray | None = None       # radians, north through east
    spix: np.ndarray | None = None     # (k,) per-component spectral index about reffreq (None: the total's)

    def __len__(self) -> int:
        return len(self.weight)


def _even(freq: np.ndarray) -> bool:
    """Channels evenly spaced (to 1e-9 of the width): the phasor recurrence applies."""
    if len(freq) < 3:
        return len(freq) == 2
    dfs = np.diff(freq)
    return bool(np.all(np.abs(dfs - dfs[0]) <= 1e-9 * abs(dfs[0])))


def predict(comp: Components, uvw_m: np.ndarray, freq_hz: np.ndarray, reffreq_hz: float = 0.0,
            budget: int = 262_144) -> np.ndarray:
    """(rows, chan) complex visibilities of the components, normalised to a unit total flux in
    every channel."""
    uvw_m = np.asarray(uvw_m, float)
    freq = np.asarray(freq_hz, float)
    nrow, nchan, k = len(uvw_m), len(freq), len(comp)
    wt = np.asarray(comp.weight, float)
    if not k or wt.sum() == 0:
        raise ValueError("no components with flux")
    n1 = np.sqrt(np.clip(1 - comp.l ** 2 - comp.m ** 2, 0, None)) - 1
    gauss = comp.major is not None and np.any(comp.major > 0)
    if gauss:
        sp, cp = np.sin(comp.pa), np.cos(comp.pa)
        fa = np.pi ** 2 / (4 * np.log(2))
    # per-channel weights (chan, k), each channel's summing to 1
    if comp.spix is not None and reffreq_hz > 0:
        wk = wt[None, :] * (freq[:, None] / reffreq_hz) ** np.asarray(comp.spix)[None, :]
    else:
        wk = np.broadcast_to(wt[None, :], (nchan, k))
    wk = wk / wk.sum(axis=1, keepdims=True)
    out = np.empty((nrow, nchan), complex)
    even = _even(freq)
    step = max(1, budget // max(k * (1 if even else nchan), 1))
    lam = freq / C_LIGHT                                        # 1 / wavelength
    for a in range(0, nrow, step):
        uvw = uvw_m[a:a + step]
        # geometric path difference per row and component (metres)
        d = uvw[:, 0:1] * comp.l[None, :] + uvw[:, 1:2] * comp.m[None, :] + uvw[:, 2:3] * n1[None, :]
        if gauss:
            # rotate to the component's axes: major along position angle (north through east)
            ur = uvw[:, 0:1] * sp[None, :] + uvw[:, 1:2] * cp[None, :]
            vr = uvw[:, 0:1] * cp[None, :] - uvw[:, 1:2] * sp[None, :]
            q2 = (comp.major[None, :] * ur) ** 2 + (comp.minor[None, :] * vr) ** 2      # m^2 rad^2
        if even:
            # evenly spaced channels: the phasor of channel c+1 is channel c's times a fixed step
            # (a complex multiply instead of an exp per row, channel and component)
            ph = np.exp(2j * np.pi * d * lam[0])
            inc = np.exp(2j * np.pi * d * (lam[1] - lam[0])) if nchan > 1 else None
            for c in range(nchan):
                g = ph if not gauss else ph * np.exp(-fa * q2 * lam[c] ** 2)
                out[a:a + step, c] = g @ wk[c]
                if inc is not None and c + 1 < nchan:
                    ph *= inc
        else:
            ph = np.exp(2j * np.pi * d[:, None, :] * lam[None, :, None])          # (r, chan, k)
            if gauss:
                ph = ph * np.exp(-fa * q2[:, None, :] * lam[None, :, None] ** 2)
            out[a:a + step] = np.einsum("rck,ck->rc", ph, wk)
    return out
