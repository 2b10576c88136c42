"""phaseup: phase-only gain solve per calibrator field and spw (on the cube)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from .common import Solint, SolveInputs, SolveStage


class PhaseupInputs(SolveInputs):
    phaseupsolint: Solint = Field("int", description="solution interval: 'int', 'inf', '30s', '2min'", json_schema_extra={"example": "30s"})
    gaintype: Literal["G", "T"] = Field("G", description="G: per polarisation; T: combined")


class Phaseup(SolveStage):
    name = "phaseup"
    Inputs = PhaseupInputs
    description = "Phase-only gain solve of every calibrator (refant phase 0)"
    role, calmode, solint_input = "phase", "p", "phaseupsolint"
