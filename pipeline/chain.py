"""A recipe on one MS as one function call, its parameters as keywords.

    from fluxpipe.chain import run_chain
    res = run_chain("my.ms", "out", reffile="flux.csv", amp_outlier_sigma=20)

Every keyword is a parameter of the recipe's stages, declared once in the stage's Inputs (with
its default there): it is given to every stage of the recipe that has a parameter of that name
(`minsnr` reaches phaseup and ampsolve); a name no stage has is an error listing the valid ones.
`skip` leaves stages out (e.g. ("writeback",) to leave the MS untouched).

Returns plain JSON-ready data: reference, transfer, refant, resolved selection, flags, fluxes
(as in fluxes.json), the reference model, field roles and every QA score.
"""
from __future__ import annotations

import os

import yaml

from .errors import InputsError, valid_list
from .recipe import load_recipe, run_recipe
from .stages import get_stage


def run_chain(ms: str, outdir: str, recipe: str = "gfluxscale", skip: tuple[str, ...] = (), **params) -> dict:
    steps = [(name, p) for name, p, _ in load_recipe(recipe) if name not in skip]
    used = set()
    for name, p in steps:
        for k, v in params.items():
            if k in get_stage(name).Inputs.model_fields:
                p[k] = v
                used.add(k)
    if set(params) - used:
        valid = sorted({k for name, _ in steps for k in get_stage(name).Inputs.model_fields})
        raise InputsError(f"run_chain: no stage of {recipe} has a parameter "
                          f"'{sorted(set(params) - used)[0]}'; valid: {valid_list(valid)}")
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, "chain.yaml")
    with open(path, "w") as fh:
        yaml.safe_dump({"stages": [{n: p} for n, p in steps]}, fh)
    ctx = run_recipe(path, [ms], outdir, weblog=False)
    st = next(iter(ctx.ms.values()))
    return {"ms": st.name, "reference": st.reference, "transfer": st.transfer,
            "refant": st.refants[0], "resolved": st.resolved.model_dump(),
            "flags": [f.model_dump() for f in st.flags],
            "fluxes": {f: r.model_dump(mode="json") for f, r in st.fluxes.items()}, "model": st.reference_model,
            "fields": [f.model_dump() for f in st.fields], "qa": [q.model_dump() for r in ctx.results for q in r.qa]}
