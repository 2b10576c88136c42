"""Pure numerics on numpy arrays (installed as `fluxpipe.heuristics`): no I/O, never imports the framework."""
