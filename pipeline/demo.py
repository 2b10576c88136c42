"""`fluxpipe demo`: simulate the band-3 preset with its flux.csv, run the gfluxscale recipe,
write the weblog, and print the derived fluxes next to the truth."""
from __future__ import annotations

import os


def run_demo(out: str) -> int:
    from .recipe import run_recipe
    from .sim import simulate
    os.makedirs(out, exist_ok=True)
    ms = os.path.join(out, "demo_band3.ms")
    truth = simulate(ms, "alma_band3", seed=42)
    ctx = run_recipe("gfluxscale", [ms], os.path.join(out, "run"))
    st = ctx.ms["demo_band3.ms"]
    print(f"reference {st.reference}; refant {truth['antennas'][st.refants[0]]}")
    print(f"{'field':12s} {'spw':>3s} {'flux (Jy)':>10s} {'err':>8s} {'SNR':>7s} {'truth':>8s} "
          f"{'dev %':>7s} {'derived':>8s} {'catalogue':>9s}")
    for name, r in st.fluxes.items():
        tr = truth["fields"][name]["flux_per_spw"]
        for s, v in r.spws.items():
            if v.missing:
                print(f"{name:12s} {s:>3d} {'missing':>10s}")
                continue
            der = r.derived[s].flux_jy if s in r.derived else float("nan")
            cat = v.catalogue_jy if v.catalogue_jy is not None else float("nan")
            print(f"{name:12s} {s:>3d} {v.flux_jy:10.4f} {v.error_jy:8.4f} {v.snr or 0:7.0f} "
                  f"{tr[int(s)]:8.4f} {100 * (v.flux_jy / tr[int(s)] - 1):7.2f} {der:8.4f} {cat:9.4f}")
    print(f"fluxes.json: {os.path.join(ctx.outdir, 'fluxes.json')}")
    print(f"weblog: {os.path.join(ctx.outdir, 'weblog', 'index.html')}")
    return 0
