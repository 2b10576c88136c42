"""`fluxpipe demo`: simulate the band-3 preset and run what fluxpipe can run on it."""
from __future__ import annotations

import os


def run_demo(out: str) -> int:
    from .simulate import simulate
    os.makedirs(out, exist_ok=True)
    ms = os.path.join(out, "demo_band3.ms")
    truth = simulate(ms, "alma_band3", seed=42)
    print(f"simulated {ms}; truth in {ms}.truth.json, catalogue in {os.path.join(out, 'flux.csv')}")
    print("true transfer fluxes (Jy) per spw:")
    for name, src in truth["fields"].items():
        if src["intent"] in ("AMPLITUDE", "TARGET"):
            continue
        print(f"  {name:12s} {src['intent']:9s} " + "  ".join(f"{f:.4f}" for f in src["flux_per_spw"]))
    print("The gfluxscale recipe is not available yet in this version; the demo stops after "
          "simulating.")
    return 0
