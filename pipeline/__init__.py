"""fluxpipe: flux-scale bootstrapping for radio interferometer calibrators, without CASA."""
__version__ = "0.1.0"


def fluxscale(*args, **kwargs):
    """CASA's fluxscale (see pipeline.fluxscale.fluxscale)."""
    from .fluxscale import fluxscale as _fs
    return _fs(*args, **kwargs)
