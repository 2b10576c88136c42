"""fluxpipe: flux-scale bootstrapping for radio interferometer calibrators, without CASA."""
__version__ = "0.1.0"

# Bound eagerly: importing the submodule pipeline.fluxscale would otherwise replace a lazily
# defined function of the same name by the module.
from .fluxscale import fluxscale  # noqa: E402,F401


def run_recipe(*args, **kwargs):
    """Run a recipe over MSes (see pipeline.recipe.run_recipe)."""
    from .recipe import run_recipe as _rr
    return _rr(*args, **kwargs)
