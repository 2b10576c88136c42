"""Science spectral windows: the ones the ALMA pipeline solves.

ALMA EBs carry, beside the FULL_RES science windows, a 1-channel '#CH_AVG' copy of each, a
4-channel WVR window (autocorrelations of the radiometers) and SQLD (square-law detector)
windows. None of them is solved: they would only repeat, or not hold, the science data.
Rule: drop names with CH_AVG, WVR or SQLD; drop windows of at most 4 channels when a window
with more channels exists (an unnamed channel average or WVR). VLA windows have no such names
and all count.
"""
from __future__ import annotations

from dataclasses import dataclass

NON_SCIENCE = ("CH_AVG", "WVR", "SQLD")


@dataclass
class SpwChoice:
    id: int
    name: str
    nchan: int
    science: bool
    reason: str


def science_spws(names: list[str], nchans: list[int]) -> list[SpwChoice]:
    wide = max(nchans) if nchans else 0
    out = []
    for i, (n, c) in enumerate(zip(names, nchans)):
        tag = next((t for t in NON_SCIENCE if t in n.upper()), None)
        if tag:
            out.append(SpwChoice(i, n, c, False, f"{tag} window"))
        elif c <= 4 < wide:
            out.append(SpwChoice(i, n, c, False, f"{c}-channel window beside {wide}-channel ones "
                                                 f"(a channel average or WVR)"))
        else:
            out.append(SpwChoice(i, n, c, True, "science window"))
    return out
