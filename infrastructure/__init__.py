"""Adapters: settings, the event store's persistence, the read-model database, tokens."""
