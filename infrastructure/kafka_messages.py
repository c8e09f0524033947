"""How a stored event travels on Kafka: value = the stored state, metadata in headers.

Key: the Space id for Space events, the account id for account events, and the
follower's or blocker's id for follow and block edges, so that each key's events
stay in order within one partition.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

EDGE_OWNERS = ("follower_id", "blocker_id")


def message_key(event: Any) -> bytes:
    for owner in EDGE_OWNERS:
        if hasattr(event, owner):
            return str(getattr(event, owner)).encode()
    return str(event.originator_id).encode()


def message_headers(notification: Notification) -> list[tuple[str, bytes]]:
    return [
        ("position", str(notification.id).encode()),
        ("type", notification.topic.encode()),
        ("version", str(notification.originator_version).encode()),
        ("originator_id", str(notification.originator_id).encode()),
    ]


def header_map(headers: list[tuple[str, bytes]] | None) -> dict[str, str]:
    return {name: value.decode() for name, value in headers or ()}


def notification_of(value: bytes, headers: list[tuple[str, bytes]] | None) -> Notification:
    meta = header_map(headers)
    return Notification(
        id=int(meta["position"]),
        originator_id=UUID(meta["originator_id"]),
        originator_version=int(meta["version"]),
        topic=meta["type"],
        state=value,
    )
