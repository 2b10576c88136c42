"""ampsolve: amplitude-only gain solve (T) with the phase calibration pre-applied (on the cube)."""
from __future__ import annotations

from pydantic import Field, field_validator

from ..errors import PipelineError
from ..gaincal import parse_solint
from ..stage import Stage
from .common import SolveInputs, solve_stage


class AmpsolveInputs(SolveInputs):
    solint: str = Field("inf", description="solution interval ('inf' = per scan)")
    gaintype: str = Field("T", pattern="^[GT]$", description="T: polarisations combined; G: per polarisation")

    @field_validator("solint")
    @classmethod
    def _solint(cls, v: str) -> str:
        try:
            parse_solint(v)
        except PipelineError as exc:
            raise ValueError(str(exc)) from None
        return v


class Ampsolve(Stage):
    name = "ampsolve"
    Inputs = AmpsolveInputs
    description = "Amplitude-only gain solve against the reference model / 1 Jy point sources"

    def run(self, context, ms, inputs, user):
        parse_solint(inputs.solint)
        return solve_stage(self, context, ms, inputs, user, role="amplitude", solint=inputs.solint,
                           calmode="a", pre_role="phase")
