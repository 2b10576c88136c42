"""Synthetic MeasurementSets with a known truth, for the tests, the demo and the benchmarks.

`simulate(ms, preset, seed)` writes an MS (and OUT.ms.truth.json, and the simulator's own rows
in flux.csv beside it); the presets are in `presets`, the sky (disks, ephemerides) in `sky`,
true calibration tables in `cal`. The simulator computes its models its own way (a numerical
Hankel transform for disks, its own gain model), so the tests that use it do not share code
with what they check.
"""
from .simulate import PRESETS, gains_at, simulate, source_flux  # noqa: F401
