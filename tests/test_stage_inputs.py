"""`fluxpipe inputs STAGE`: readable types and bounds, defaults, the heuristic
behind a blank value, and an example --set line that the recipe loader accepts."""
import shlex

import pytest
from clirun import cli

from fluxpipe.recipe import load_recipe
from fluxpipe.stage import describe
from fluxpipe.stages import STAGES


@pytest.mark.parametrize("name", list(STAGES))
def test_every_example_is_accepted(name):
    for d in describe(STAGES[name]):
        args = shlex.split(d["example"])
        assert args[0] == "--set" and args[1].startswith(f"{name}.{d['name']}=")
        steps = load_recipe("gfluxscale", [args[1]])                   # parses and validates, as `run`
        params, user = next((p, u) for s, p, u in steps if s == name)
        assert d["name"] in user
        assert repr(params[d["name"]]) != d["default"], d   # a real change
        assert "pydantic" not in d["type"].lower() and "Literal" not in d["type"], d["type"]


def test_cli_inputs_text():
    r = cli("inputs", "phaseup")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "gaintype: 'G' | 'T' or None, default None" in out
    assert "phaseupsolint: str or dict[str, str] or None, default None" in out
    assert "minsnr: float (>= 0), default 2.0" in out
    assert "example: --set phaseup.gaintype=T" in out
    r = cli("inputs", "fluxtransfer")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "catalogue_range: list[float] (exactly 2 items), default [0.7, 1.4]" in out
    assert "blank: chosen by AICc" in out
    assert "example: --set fluxtransfer.estimator=casa" in out
