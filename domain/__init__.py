"""The Spaces domain: aggregates and their rules. Imports nothing but `eventsourcing.domain`."""
