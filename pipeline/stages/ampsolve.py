"""ampsolve: amplitude-only gain solve (T) with the phase-up pre-applied."""
from __future__ import annotations

from pydantic import Field

from ..gaincal import parse_solint
from ..stage import Inputs, Stage, register
from .common import solve_stage


class AmpsolveInputs(Inputs):
    solint: str = Field("inf", description="solution interval ('inf' = per scan)")
    gaintype: str = Field("T", pattern="^[GT]$", description="T: polarisations combined; G: per polarisation")
    minsnr: float = Field(2.0, ge=0, description="flag solutions below this SNR")
    minblperant: int = Field(4, ge=1, description="minimum unflagged baselines per antenna")


@register
class Ampsolve(Stage):
    name = "ampsolve"
    Inputs = AmpsolveInputs
    description = "Amplitude-only gain solve against the reference model / 1 Jy point sources"

    def run(self, context, ms, inputs, user):
        parse_solint(inputs.solint)
        return solve_stage(self, context, ms, inputs, user, pre_stages=("phaseup",),
                           solint=inputs.solint, calmode="a")
