"""phaseup: phase-only gain solve per calibrator field and spw (on the cube)."""
from __future__ import annotations

from pydantic import Field, field_validator

from ..errors import PipelineError
from ..gaincal import parse_solint
from ..stage import Stage
from .common import SolveInputs, solve_stage


class PhaseupInputs(SolveInputs):
    phaseupsolint: str = Field("int", description="solution interval: 'int', 'inf', '30s', '2min'")
    gaintype: str = Field("G", pattern="^[GT]$", description="G: per polarisation; T: combined")

    @field_validator("phaseupsolint")
    @classmethod
    def _solint(cls, v: str) -> str:
        try:
            parse_solint(v)
        except PipelineError as exc:
            raise ValueError(str(exc)) from None
        return v


class Phaseup(Stage):
    name = "phaseup"
    Inputs = PhaseupInputs
    description = "Phase-only gain solve of every calibrator (refant phase 0)"

    def run(self, context, ms, inputs, user):
        parse_solint(inputs.phaseupsolint)
        return solve_stage(self, context, ms, inputs, user, role="phase",
                           solint=inputs.phaseupsolint, calmode="p")
