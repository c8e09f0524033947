"""The command side: an eventsourcing Application whose methods are the Space commands."""
