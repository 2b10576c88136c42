"""ampsolve: amplitude-only gain solve (T) with the phase calibration pre-applied (on the cube)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..stage import Stage
from .common import Solint, SolveInputs, SolveSummary, solve_stage


class AmpsolveInputs(SolveInputs):
    solint: Solint = Field("inf", description="solution interval ('inf' = per scan)", json_schema_extra={"example": "60s"})
    gaintype: Literal["G", "T"] = Field("T", description="T: polarisations combined; G: per polarisation")


class Ampsolve(Stage):
    name = "ampsolve"
    Inputs = AmpsolveInputs
    description = "Amplitude-only gain solve against the reference model / 1 Jy point sources"

    Summary = SolveSummary
    uses_cube = True

    def plots(self, rec, st, outdir, base, abspath):
        from ..weblog.plots import gain_vs_time
        return gain_vs_time(abspath(rec.artefacts["solutions"]), outdir, base, "amplitude")

    def run(self, s, inputs, user):
        return solve_stage(self, s, inputs, user, role="amplitude", solint=inputs.solint,
                           calmode="a", pre_role="phase")
