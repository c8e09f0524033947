"""How a stored event travels on Kafka: value = the stored state, metadata in headers.

Key: the Space id for Space events and for reminders of a Space (so a reminder set
before the launch is applied before it), the account id for account events, and the
follower's or blocker's id for follow and block edges, so that each key's events
stay in order within one partition.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer  # noqa: F401  (their protocol)
from kafka.protocol.api_header import ResponseClassRegistry

EDGE_OWNERS = ("follower_id", "blocker_id", "space_id")


def pin_response_classes() -> None:
    """kafka-python 3.0.12 finds the class of each response through weak proxies; in CI one
    proxy's class was gone ("weakly-referenced object no longer exists"), which killed the
    client's IO task and left `spaces serve` waiting for Kafka forever. The registry keeps
    the classes themselves instead."""
    registry = ResponseClassRegistry._response_class_registry
    for key, registered in list(registry.items()):
        try:
            registry[key] = registered.__mro__[0]  # the class behind the proxy
        except ReferenceError:
            del registry[key]


pin_response_classes()


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
