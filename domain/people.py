"""The people side: accounts, and one aggregate per follow or block edge.

Edges are aggregates of their own so that a host with a million followers
never loads a million-item list. Their ids derive from the two accounts, so
the application finds an edge without an index and two racing follows of the
same pair collide in the event store instead of creating two edges.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain import text
from domain.copying import FlatCopy
from domain.errors import InvalidInput, RuleBroken

HANDLE_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,30}$")
_NAMESPACE = uuid5(NAMESPACE_URL, "https://spaces.invalid/")


def account_id_for(handle: str) -> UUID:
    """Handles are unique regardless of case: the id is derived from the lowered handle."""
    return uuid5(_NAMESPACE, "account:" + handle.lower())


# ASCII characters that pass for one another in a handle: I, l, 1 and i (as I, once case
# is folded); O and 0; rn and m; vv and w.
LOOKALIKES = (("rn", "m"), ("vv", "w"), ("1", "l"), ("i", "l"), ("0", "o"))


def handle_skeleton(handle: str) -> str:
    """What a handle looks like: two handles with one skeleton are one handle to a reader."""
    folded = unicodedata.normalize("NFKC", handle).casefold()
    for lookalike, canonical in LOOKALIKES:
        folded = folded.replace(lookalike, canonical)
    return folded


def handle_claim_id(handle: str) -> UUID:
    return uuid5(_NAMESPACE, "handle:" + handle_skeleton(handle))


def follow_id(follower_id: UUID, followee_id: UUID) -> UUID:
    return uuid5(_NAMESPACE, f"follow:{follower_id}:{followee_id}")


def block_id(blocker_id: UUID, blocked_id: UUID) -> UUID:
    return uuid5(_NAMESPACE, f"block:{blocker_id}:{blocked_id}")


class Account(FlatCopy, Aggregate):
    TOPIC = "spaces:Account"

    class Created(Aggregate.Created):  # never stored: see Space.Created
        TOPIC = "spaces:Account.Created"

    # defined by the @event decorators below, declared for type checkers
    AccountRegistered: ClassVar[type[Any]]

    @staticmethod
    def create_id(handle: str) -> UUID:
        return account_id_for(handle)

    @classmethod
    def register(cls, handle: str) -> Account:
        if not HANDLE_PATTERN.match(handle):
            raise InvalidInput("A handle is 1 to 30 letters, digits or underscores.")
        return cls(handle)

    @event("AccountRegistered", topic="spaces:AccountRegistered")
    def __init__(self, handle: str):
        self.handle = handle


class HandleClaim(Aggregate):
    """Holds a handle's look (its skeleton) for one account, so that no other account can
    register a handle that reads the same (`bill`, `bilI`, `b1ll`)."""

    TOPIC = "spaces:HandleClaim"

    class Created(Aggregate.Created):  # never stored: see Space.Created
        TOPIC = "spaces:HandleClaim.Created"

    # defined by the @event decorators below, declared for type checkers
    HandleClaimed: ClassVar[type[Any]]

    @staticmethod
    def create_id(handle: str, account_id: UUID) -> UUID:
        return handle_claim_id(handle)

    @event("HandleClaimed", topic="spaces:HandleClaimed")
    def __init__(self, handle: str, account_id: UUID):
        self.handle = handle
        self.account_id = account_id


class Follow(FlatCopy, Aggregate):
    """Whether `follower_id` follows `followee_id`. Every follow, first or repeated, is `Followed`.
    A follower hears when the followee goes live unless they switch that off for this
    followee (`go_live`, on from the first follow, kept across an unfollow and a new follow)."""

    TOPIC = "spaces:Follow"

    class Created(Aggregate.Created):  # never stored: see Space.Created
        TOPIC = "spaces:Follow.Created"

    # defined by the @event decorators below, declared for type checkers
    FollowEdgeCreated: ClassVar[type[Any]]
    Followed: ClassVar[type[Any]]
    Unfollowed: ClassVar[type[Any]]
    GoLiveNotificationsSwitched: ClassVar[type[Any]]

    @staticmethod
    def create_id(follower_id: UUID, followee_id: UUID) -> UUID:
        return follow_id(follower_id, followee_id)

    @classmethod
    def between(cls, follower_id: UUID, followee_id: UUID) -> Follow:
        if follower_id == followee_id:
            raise InvalidInput("You cannot follow yourself.")
        return cls(follower_id, followee_id)

    @event("FollowEdgeCreated", topic="spaces:FollowEdgeCreated")
    def __init__(self, follower_id: UUID, followee_id: UUID):
        self.follower_id = follower_id
        self.followee_id = followee_id
        self.active = False
        self.go_live = True

    def follow(self) -> None:
        """Following twice is not an error: the second time changes nothing."""
        if not self.active:
            self._followed(follower_id=self.follower_id, followee_id=self.followee_id)

    @event("Followed", topic="spaces:Followed")
    def _followed(self, follower_id: UUID, followee_id: UUID) -> None:
        self.active = True

    def unfollow(self) -> None:
        if self.active:
            self._unfollowed(follower_id=self.follower_id, followee_id=self.followee_id)

    @event("Unfollowed", topic="spaces:Unfollowed")
    def _unfollowed(self, follower_id: UUID, followee_id: UUID) -> None:
        self.active = False

    def switch_go_live(self, on: bool) -> None:
        """Whether the follower is notified when the followee goes live; the same switch
        again changes nothing."""
        if not self.active:
            raise RuleBroken("You do not follow this account: follow it first.")
        if on != self.go_live:
            self._go_live_switched(follower_id=self.follower_id, followee_id=self.followee_id, on=on)

    @event("GoLiveNotificationsSwitched", topic="spaces:GoLiveNotificationsSwitched")
    def _go_live_switched(self, follower_id: UUID, followee_id: UUID, on: bool) -> None:
        self.go_live = on


class Block(FlatCopy, Aggregate):
    """Whether `blocker_id` (a host) keeps `blocked_id` out of all of their Spaces."""

    TOPIC = "spaces:Block"

    class Created(Aggregate.Created):  # never stored: see Space.Created
        TOPIC = "spaces:Block.Created"

    # defined by the @event decorators below, declared for type checkers
    BlockEdgeCreated: ClassVar[type[Any]]
    Blocked: ClassVar[type[Any]]
    Unblocked: ClassVar[type[Any]]

    @staticmethod
    def create_id(blocker_id: UUID, blocked_id: UUID) -> UUID:
        return block_id(blocker_id, blocked_id)

    @classmethod
    def between(cls, blocker_id: UUID, blocked_id: UUID) -> Block:
        if blocker_id == blocked_id:
            raise InvalidInput("You cannot block yourself.")
        return cls(blocker_id, blocked_id)

    @event("BlockEdgeCreated", topic="spaces:BlockEdgeCreated")
    def __init__(self, blocker_id: UUID, blocked_id: UUID):
        self.blocker_id = blocker_id
        self.blocked_id = blocked_id
        self.active = False

    def block(self, reason: str | None = None) -> None:
        """Blocking twice is not an error: the second time changes nothing."""
        if not self.active:
            self._blocked(blocker_id=self.blocker_id, blocked_id=self.blocked_id,
                          reason=text.reason(reason))

    @event("Blocked", topic="spaces:Blocked")
    def _blocked(self, blocker_id: UUID, blocked_id: UUID, reason: str | None) -> None:
        self.active = True

    def unblock(self) -> None:
        if self.active:
            self._unblocked(blocker_id=self.blocker_id, blocked_id=self.blocked_id)

    @event("Unblocked", topic="spaces:Unblocked")
    def _unblocked(self, blocker_id: UUID, blocked_id: UUID) -> None:
        self.active = False
