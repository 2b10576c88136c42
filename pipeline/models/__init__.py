"""Reference models: the flux-density standards (one table entry each, `standards`)."""
