"""The `spaces` command line: an entrypoint beside the HTTP app (api/), using the same composition root."""
