"""fluxpipe: flux-scale bootstrapping for radio interferometer calibrators, without CASA."""
__version__ = "0.1.0"
