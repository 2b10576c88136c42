"""Every flux-density standard of CASA 6.7's setjy for non-solar-system sources, one entry each.

An entry: its name (as setjy spells it) and aliases, the form of its spectrum, the sources it
knows with their coefficients (per epoch for the time-variable ones, chosen as setjy's default
interpolation='nearest' does), its frequency range and its quoted accuracy (the error budget's
reference term). Coefficients: Perley-Butler 2017 / 2013 and Scaife-Heald 2012 from the CASA
data package's tables (standards_tables.json, made by benchmarks/casa_oracle/extract_standards.py);
the older standards from their publications as CASA codes them (Baars et al. 1977, Perley 1990,
Perley-Taylor 1995/1999, Perley-Butler 2010). Stevens-Reynolds 2016 (1934-638): Reynolds'
polynomial below 11.15 GHz and Stevens' power law above, as CASA 6.7 evaluates them. Adding a standard is adding an
entry here.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from ..heuristics import standards as hs


@cache
def _tables() -> dict:
    """The shipped, read-only coefficient tables (read on first use)."""
    with open(os.path.join(os.path.dirname(__file__), "standards_tables.json")) as fh:
        return json.load(fh)["standards"]


# 1934-638's broken polynomial (Reynolds 1994, in log10 GHz; break at 10 GHz), as CASA has it
_1934_BROKEN = ("broken", [1.170418, 0.248618, -1.649694, 0.605334], 10e9, [-2.5739, 10.0707, -10.0595, 2.9372])
# Stevens-Reynolds 2016: Reynolds' polynomial below 11.15 GHz, where it meets Stevens' power law
# log10 S = 1.7581 - 1.3763 log10(nu / GHz) (identified from CASA 6.7's setjy values at 12-48 GHz,
# which it reproduces to 1e-15 in log; the two branches agree at 11.15 GHz to 6e-6)
_1934_SR2016 = ("broken", [1.170418, 0.248618, -1.649694, 0.605334], 11.15e9, [1.7581, -1.3763])


@dataclass(frozen=True)
class FluxStandard:
    name: str
    aliases: tuple[str, ...]
    form: str                       # 'logpoly_ghz', 'logpoly_mhz' or 'scaife_heald'
    accuracy: float                 # fractional accuracy of its fluxes (reference-model error)
    accuracy_note: str
    range_hz: tuple[float, float]   # frequencies it is published for
    static: dict = field(default_factory=dict)    # source -> coefficients (or ('broken', lo, f, hi))
    table: str = ""                 # key in standards_tables.json for epoch tables

    def sources(self) -> list[str]:
        return sorted(set(self.static) | set(_tables()[self.table]["sources"] if self.table else ()))

    def coefficients(self, source: str, year: float | None):
        if source in self.static:
            return self.static[source]
        t = _tables()[self.table]
        return hs.nearest_epoch(np.array(t["epochs"]), t["sources"][source], year)

    def flux(self, source: str, freq_hz: np.ndarray, year: float | None = None) -> np.ndarray:
        c = self.coefficients(source, year)
        f = np.asarray(freq_hz, float)
        if isinstance(c, tuple) and c[0] == "broken":
            _, lo, brk, hi = c
            return np.where(f < brk, hs.log_polynomial(f, lo, 1e9), hs.log_polynomial(f, hi, 1e9))
        if self.form == "scaife_heald":
            return hs.scaife_heald(f, c)
        return hs.log_polynomial(f, c, 1e9 if self.form == "logpoly_ghz" else 1e6)

    def in_range(self, freq_hz: float) -> bool:
        return self.range_hz[0] <= freq_hz <= self.range_hz[1]


STANDARDS: dict[str, FluxStandard] = {s.name: s for s in (
    FluxStandard("Perley-Butler 2017", ("PB2017", "Perley-Butler-2017"), "logpoly_ghz", 0.02,
                 "Perley-Butler 2017 quotes 1-2 % for its standards", (0.05e9, 50e9),
                 table="Perley-Butler 2017"),
    FluxStandard("Perley-Butler 2013", ("PB2013",), "logpoly_ghz", 0.02,
                 "Perley-Butler 2013: 1-2 %", (0.3e9, 50e9), table="Perley-Butler 2013"),
    FluxStandard("Scaife-Heald 2012", ("SH2012",), "scaife_heald", 0.05,
                 "Scaife-Heald 2012 (30-300 MHz): ~5 %", (0.03e9, 0.3e9), table="Scaife-Heald 2012"),
    FluxStandard("Stevens-Reynolds 2016", ("SR2016",), "logpoly_ghz", 0.03,
                 "Stevens-Reynolds 2016 (1934-638, ATCA): ~3 %", (0.4e9, 50e9),
                 static={"1934-638": _1934_SR2016}),
    FluxStandard("Perley-Butler 2010", ("PB2010",), "logpoly_ghz", 0.03, "Perley-Butler 2010: 1-3 %",
                 (1e9, 50e9), static={
                     "3C286": [1.2361, -0.4127, -0.1864, 0.0294], "3C48": [1.3197, -0.7253, -0.2023, 0.0540],
                     "3C147": [1.4428, -0.6300, -0.3142, 0.1032], "3C138": [1.0053, -0.4384, -0.1855, 0.0511],
                     "3C295": [1.4605, -0.7043, -0.3951, 0.0815], "3C196": [1.2753, -0.7971, -0.2255, 0.0380],
                     "1934-638": _1934_BROKEN}),
    FluxStandard("Perley-Taylor 99", ("PT99",), "logpoly_ghz", 0.03, "Perley-Taylor 1999: a few %",
                 (0.3e9, 50e9), static={
                     "3C286": [1.23734, -0.43276, -0.14223, 0.00345], "3C48": [1.31752, -0.74090, -0.16708, 0.01525],
                     "3C147": [1.44856, -0.67252, -0.21124, 0.04077], "3C138": [1.00761, -0.55629, -0.11134, -0.0146],
                     "3C295": [1.46744, -0.7735, -0.25912, 0.00752], "1934-638": _1934_BROKEN}),
    FluxStandard("Perley-Taylor 95", ("PT95",), "logpoly_mhz", 0.03, "Perley-Taylor 1995: a few %",
                 (0.3e9, 50e9), static={
                     "3C286": [0.50344, 1.05026, -0.31666, 0.01602], "3C48": [1.16801, 1.07526, -0.42254, 0.02699],
                     "3C147": [0.05702, 2.09340, -0.7076, 0.05477], "3C138": [1.97498, -0.23918, 0.01333, -0.01389],
                     "3C295": [1.28872, 0.94172, -0.31113, 0.00569],
                     "1934-638": [-30.7667, 26.4908, -7.0977, 0.605334]}),
    FluxStandard("Perley 90", ("P90",), "logpoly_mhz", 0.05, "Perley 1990: ~5 %", (0.3e9, 50e9), static={
        "3C286": [1.35899, 0.3599, -0.13338], "3C48": [2.0868, 0.20889, -0.15498],
        "3C147": [1.92641, 0.36072, -0.17389], "3C138": [2.009, -0.07176, -0.0862],
        "3C295": [1.485, 0.759, -0.255], "1934-638": [-30.7667, 26.4908, -7.0977, 0.605334]}),
    FluxStandard("Baars", ("Baars 1977",), "logpoly_mhz", 0.05, "Baars et al. 1977: ~5 %", (0.4e9, 15e9), static={
        "3C286": [1.480, 0.292, -0.124], "3C48": [2.345, 0.071, -0.138], "3C147": [1.766, 0.447, -0.184],
        "3C138": [2.009, -0.07176, -0.0862], "3C295": [1.485, 0.759, -0.255],
        "1934-638": [-23.839, 19.569, -4.8168, 0.35836]}),
)}

CHOICES = ("auto", "flux.csv", *STANDARDS)


def same_name(name: str, names) -> bool:
    """`name` is one of `names`, case, spaces and hyphens ignored."""
    key = lambda n: n.replace(" ", "").replace("-", "").lower()  # noqa: E731
    return key(name) in {key(n) for n in names}


def lookup(name: str) -> FluxStandard:
    """A standard by its name or an alias (case, spaces and hyphens ignored)."""
    for s in STANDARDS.values():
        if same_name(name, (s.name, *s.aliases)):
            return s
    raise KeyError(name)


def auto_standard(source: str) -> FluxStandard | None:
    """setmodel.standard 'auto': Perley-Butler 2017 where it knows the source, else
    Stevens-Reynolds 2016 (1934-638), else None."""
    for name in ("Perley-Butler 2017", "Stevens-Reynolds 2016"):
        if source in STANDARDS[name].sources():
            return STANDARDS[name]
    return None
