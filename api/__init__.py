"""Entrypoints: the FastAPI app, its routers and the `spaces` command line."""
