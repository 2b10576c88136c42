"""fluxpipe: flux-scale bootstrapping for radio interferometer calibrators, without CASA."""
__version__ = "0.1.0"


def fluxscale(*args, **kwargs):
    """CASA's fluxscale (see pipeline.fluxscale.fluxscale)."""
    from .fluxscale import fluxscale as _fs
    return _fs(*args, **kwargs)


def run_recipe(*args, **kwargs):
    """Run a recipe over MSes (see pipeline.recipe.run_recipe)."""
    from .recipe import run_recipe as _rr
    return _rr(*args, **kwargs)
