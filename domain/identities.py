"""Which account a person from outside is: a user of an integrator (named by the `sub` of the
tokens its key signs) or of an OpenID Connect provider (the `sub` of its ID tokens).

The account is made on that person's first token, with a handle from the token, and the
link never changes. Its id derives from the issuer and the subject, so the application
finds it without an index, and two first requests of one person at once collide in the
event store instead of making two accounts.
"""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

_NAMESPACE = uuid5(NAMESPACE_URL, "https://spaces.invalid/identities/")


def identity_id(issuer: str, subject: str) -> UUID:
    """`issuer`: `integrator:<key name>`, or the OIDC provider's issuer URL."""
    return uuid5(_NAMESPACE, f"{issuer}\n{subject}")


class Identity(Aggregate):
    TOPIC = "spaces:Identity"

    class Created(Aggregate.Created):  # never stored: see Space.Created
        TOPIC = "spaces:Identity.Created"

    IdentityLinked: ClassVar[type[Any]]  # defined by the @event below

    @staticmethod
    def create_id(issuer: str, subject: str, account_id: UUID) -> UUID:
        return identity_id(issuer, subject)

    @event("IdentityLinked", topic="spaces:IdentityLinked")
    def __init__(self, issuer: str, subject: str, account_id: UUID):
        self.issuer = issuer
        self.subject = subject
        self.account_id = account_id
