"""The gfluxscale stages; importing this package registers them."""
from . import setmodel, resolvedcal, phaseup, ampsolve, ampflag, fluxtransfer, writeback  # noqa: F401
