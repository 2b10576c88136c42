"""phaseup: phase-only gain solve per calibrator field and spw (on the cube)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..stage import Stage
from .common import Solint, SolveInputs, SolveSummary, solve_stage


class PhaseupInputs(SolveInputs):
    phaseupsolint: Solint = Field("int", description="solution interval: 'int', 'inf', '30s', '2min'", json_schema_extra={"example": "30s"})
    gaintype: Literal["G", "T"] = Field("G", description="G: per polarisation; T: combined")


class Phaseup(Stage):
    name = "phaseup"
    Inputs = PhaseupInputs
    description = "Phase-only gain solve of every calibrator (refant phase 0)"

    Summary = SolveSummary
    uses_cube = True

    def plots(self, rec, st, outdir, base, abspath):
        from ..weblog.plots import gain_vs_time
        return gain_vs_time(abspath(rec.artefacts["solutions"]), outdir, base, "phase")

    def run(self, s, inputs, user):
        return solve_stage(self, s, inputs, user, role="phase",
                           solint=inputs.phaseupsolint, calmode="p")
