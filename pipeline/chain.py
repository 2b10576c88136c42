"""The gfluxscale recipe on one MS with a few common overrides, as one function call.

    from fluxpipe.chain import run_chain
    res = run_chain("my.ms", "out", fluxcsv="flux.csv", amp_outlier_sigma=20)

Returns plain data: reference, transfer, refant, resolved selection, flags, fluxes (as in
fluxes.json) and the reference model.
"""
from __future__ import annotations

import os

import yaml

from .recipe import run_recipe


def run_chain(ms: str, outdir: str, ref_field: str | None = None, fluxcsv: str | None = None,
              refant: str = "", use_resolved: bool = True, amp_outlier_sigma: float = 50.0,
              minsnr: float = 2.0, minblperant: int = 4, fitorder: int = 1,
              disk_arcsec: float | str | None = None, do_writeback: bool = True,
              estimator: str = "joint") -> dict:
    stages = [{"setmodel": {**({"disk_arcsec": disk_arcsec} if disk_arcsec is not None else {}),
                            **({"reference": ref_field} if ref_field else {}),
                            **({"reffile": os.path.abspath(fluxcsv)} if fluxcsv else {})}},
              {"resolvedcal": {"refant": refant, **({} if use_resolved else {"hm_resolvedcals": "manual"})}},
              {"phaseup": {"minsnr": minsnr, "minblperant": minblperant}},
              {"ampsolve": {"minsnr": minsnr, "minblperant": minblperant}},
              {"ampflag": {"amp_outlier_sigma": amp_outlier_sigma}},
              {"fluxtransfer": {"fitorder": fitorder, "estimator": estimator}}] + ([{"writeback": {}}] if do_writeback else [])
    os.makedirs(outdir, exist_ok=True)
    recipe = os.path.join(outdir, "chain.yaml")
    with open(recipe, "w") as fh:
        yaml.safe_dump({"stages": stages}, fh)
    ctx = run_recipe(recipe, [ms], outdir, weblog=False)
    st = next(iter(ctx.ms.values()))
    return {"ms": st.name, "reference": st.reference, "transfer": st.transfer,
            "refant": st.refants[0], "resolved": st.resolved.model_dump(), "flags": st.flags,
            "fluxes": {f: r.model_dump() for f, r in st.fluxes.items()}, "model": st.reference_model,
            "fields": [f.model_dump() for f in st.fields], "qa": [q.model_dump() for r in ctx.results for q in r.qa]}
