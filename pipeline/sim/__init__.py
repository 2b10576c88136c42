"""Synthetic MeasurementSets with a known truth, for the tests, the demo and the benchmarks.

`simulate(ms, preset, seed)` writes an MS (and OUT.ms.truth.json, and the simulator's own rows
in flux.csv beside it); the presets are in `presets`, the sky (disks, ephemerides) in `sky`,
the antenna gains and true calibration tables in `cal`, the array
and its uvw in `geometry`. The simulator computes its models its own way (a numerical
Hankel transform for disks, its own gain model), so the tests that use it do not share code
with what they check.
"""
from .cal import gains_at  # noqa: F401
from .simulate import PRESETS, simulate, source_flux  # noqa: F401
