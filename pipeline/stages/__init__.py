"""The stages of the gfluxscale recipe. `STAGES` is the registry: a plain dict, in recipe order."""
from ..errors import InputsError, valid_list
from ..stage import Stage
from .ampflag import Ampflag
from .ampsolve import Ampsolve
from .crosseb import Crosseb
from .fluxtransfer import Fluxtransfer
from .phaseup import Phaseup
from .precal import Precal
from .resolvedcal import Resolvedcal
from .setmodel import Setmodel
from .writeback import Writeback

STAGES: dict[str, Stage] = {s.name: s for s in (Precal(), Setmodel(), Resolvedcal(), Phaseup(), Ampsolve(),
                                                  Ampflag(), Fluxtransfer(), Writeback(), Crosseb())}


def get_stage(name: str) -> Stage:
    if name not in STAGES:
        raise InputsError(f"unknown stage '{name}'; valid stages: {valid_list(STAGES)}")
    return STAGES[name]
