"""fluxpipe: flux-scale bootstrapping for radio interferometer calibrators, without CASA.

Installed as the import name `fluxpipe` (this folder) with the numerics as `fluxpipe.heuristics`
(the repository's top-level heuristics/ folder), so it never shadows the ALMA pipeline's own
`pipeline` package. Importing `fluxpipe` or `fluxpipe.heuristics` loads nothing else: the
CASA-compatible `fluxscale` and `run_recipe` are imported on first use.
"""
__version__ = "0.1.0"
__all__ = ["fluxscale", "run_recipe", "__version__"]


def fluxscale(*args, **kwargs):
    """CASA's fluxscale on a G/T caltable (see fluxpipe.casa_fluxscale.fluxscale)."""
    from .casa_fluxscale import fluxscale as _fs
    return _fs(*args, **kwargs)


def run_recipe(*args, **kwargs):
    """Run a recipe over MSes (see fluxpipe.recipe.run_recipe)."""
    from .recipe import run_recipe as _rr
    return _rr(*args, **kwargs)
