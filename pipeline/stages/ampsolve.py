"""ampsolve: amplitude-only gain solve (T) with the phase calibration pre-applied (on the cube)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from .common import Solint, SolveInputs, SolveStage


class AmpsolveInputs(SolveInputs):
    solint: Solint = Field("inf", description="solution interval ('inf' = per scan)", json_schema_extra={"example": "60s"})
    gaintype: Literal["G", "T"] = Field("T", description="T: polarisations combined; G: per polarisation")
    flagged_solutions: Literal["interpolate", "flag"] = Field("interpolate", description="the phase-up's flagged solutions: 'interpolate' (the data take the nearest unflagged solutions before and after) or 'flag' (CASA's gaincal: data at a flagged solution's time, or between it and the next solution, are flagged and left out)", json_schema_extra={"example": "flag"})
    debias: bool = Field(True, description="remove the noise the solutions fit: the phase-up's (its solutions include the data they correct: (v_i + v_j)/2 too strong, v = 1/SNR^2) and the amplitude solve's (|g| from a complex solve, less 1/SNR^2 in |g|^2); false: CASA's gaincal calmode='a' on the phase-up (biased high by about 1/SNR^2 at low SNR)", json_schema_extra={"example": "false"})


class Ampsolve(SolveStage):
    name = "ampsolve"
    Inputs = AmpsolveInputs
    description = "Amplitude-only gain solve against the reference model / 1 Jy point sources"
    role, calmode, solint_input, pre_role = "amplitude", "a", "solint", "phase"
