"""Domain errors: each broken rule raises one of these; the API maps each kind to a status."""


class DomainError(Exception):
    """Base class. `str(error)` is a sentence a person can act on."""


class NotAllowed(DomainError):
    """The caller may not do this (not the host, removed, blocked, wrong speaker policy)."""


class UnknownCaller(DomainError):
    """A validly signed token that names no account (never registered, or gone)."""


class NotFound(DomainError):
    """The Space or account does not exist."""


class RuleBroken(DomainError):
    """The command conflicts with the Space's current state (launched twice, stage full, ...)."""


class SpaceHasEnded(RuleBroken):
    """Nothing but reads works on an ended Space."""


class InvalidInput(DomainError):
    """A value is out of range (a schedule in the past, reporting yourself, ...)."""
