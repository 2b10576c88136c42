"""Pure numerics on numpy arrays: no I/O, never imports `pipeline`."""
