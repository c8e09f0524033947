"""Webhook endpoints that operators register, and the log of every delivery to them.

An endpoint is operators' configuration holding a secret, not a fact about Spaces, so it
is a table beside the views (as the media fleet is), not an event; rebuilds leave it and
its deliveries alone. `webhook_deliveries` is both the outbox and the delivery log: one
row per (endpoint, event), written in the store's order by the dispatcher
(infrastructure/webhook_dispatcher.py), which sends each Space's rows in order.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from domain.errors import InvalidInput, NotFound
from domain.space import Space
from infrastructure import webhook_signing
from infrastructure.webhook_urls import check_url

if TYPE_CHECKING:
    from application.ports import Views

EVENT_TYPES = sorted(name for name, kind in vars(Space).items()
                     if isinstance(kind, type) and issubclass(kind, Space.Event)
                     and name not in ("Event", "Created"))
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS webhooks (id TEXT PRIMARY KEY, url TEXT NOT NULL, "
    "event_types TEXT NOT NULL, secret TEXT NOT NULL, created_by TEXT NOT NULL, "
    "created_at TEXT NOT NULL, position BIGINT NOT NULL, active INTEGER NOT NULL DEFAULT 1)",
    # state: pending, delivered or failed (given up); first_attempt_at: for the give-up
    "CREATE TABLE IF NOT EXISTS webhook_deliveries (webhook_id TEXT NOT NULL, "
    "position BIGINT NOT NULL, space_id TEXT NOT NULL, event_type TEXT NOT NULL, "
    "body TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
    "next_attempt_at TEXT NOT NULL, first_attempt_at TEXT, last_attempt_at TEXT, "
    "last_status INTEGER, last_error TEXT, delivered_at TEXT, "
    "PRIMARY KEY (webhook_id, position))",
    "CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries "
    "(state, next_attempt_at)",
)
PUBLIC = "id, url, event_types, created_by, created_at, position, active"


def create_tables(views: Views) -> None:
    with views.transaction() as cursor:
        for statement in SCHEMA:
            cursor.execute(statement)


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


def message_id(webhook_id: str, position: int) -> str:
    """The same for every attempt and replay of one event to one endpoint."""
    return f"msg_{uuid.UUID(webhook_id).hex}_{position}"


class Webhooks:
    def __init__(self, views: Views, allow_private: bool = False):
        self.views = views
        self.allow_private = allow_private

    def register(self, url: str, event_types: list[str], secret: str | None, by: str,
                 position: int) -> dict[str, Any]:
        """From the next event after `position` on. The answer holds the secret (only this once)."""
        check_url(url, self.allow_private)
        unknown = sorted(set(event_types) - set(EVENT_TYPES) - {"*"})
        if unknown or not event_types:
            raise InvalidInput(f"Unknown event types {unknown}; use * or some of {EVENT_TYPES}."
                               if unknown else "Name the event types to send (or *).")
        secret = secret or webhook_signing.new_secret()
        try:
            webhook_signing.secret_key(secret)
        except ValueError as error:
            raise InvalidInput(str(error)) from None
        webhook = {"id": str(uuid.uuid4()), "url": url, "event_types": " ".join(sorted(set(event_types))),
                   "created_by": by, "created_at": now(), "position": position, "active": 1}
        with self.views.transaction() as cursor:
            cursor.execute(
                "INSERT INTO webhooks (id, url, event_types, secret, created_by, created_at, position) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", (webhook["id"], url, webhook["event_types"], secret,
                                                 by, webhook["created_at"], position))
        return {**webhook, "secret": secret}

    def all(self) -> list[dict[str, Any]]:
        return self.views.rows(f"SELECT {PUBLIC} FROM webhooks ORDER BY created_at, id")

    def one(self, webhook_id: str) -> dict[str, Any]:
        found = self.views.row(f"SELECT {PUBLIC} FROM webhooks WHERE id = ?", (webhook_id,))
        if found is None:
            raise NotFound(f"No webhook has the id {webhook_id}.")
        return found

    def remove(self, webhook_id: str) -> None:
        """Nothing more is sent to it; its deliveries stay in the log."""
        self.one(webhook_id)
        with self.views.transaction() as cursor:
            cursor.execute("UPDATE webhooks SET active = 0 WHERE id = ?", (webhook_id,))
            cursor.execute("UPDATE webhook_deliveries SET state = 'failed', last_error = "
                           "'webhook removed' WHERE webhook_id = ? AND state = 'pending'", (webhook_id,))

    def deliveries(self, webhook_id: str, after: int | None, limit: int) -> list[dict[str, Any]]:
        self.one(webhook_id)
        return self.views.rows(
            "SELECT position, space_id, event_type, state, attempts, next_attempt_at, "
            "first_attempt_at, last_attempt_at, last_status, last_error, delivered_at "
            "FROM webhook_deliveries WHERE webhook_id = ? AND (? IS NULL OR position > ?) "
            "ORDER BY position LIMIT ?", (webhook_id, after, after, limit))

    def replay(self, webhook_id: str, from_position: int) -> None:
        """Sends again every event from `from_position` on (same webhook-ids: a receiver
        that kept them knows them), including ones before the endpoint was registered."""
        if not self.one(webhook_id)["active"]:
            raise InvalidInput("This webhook was removed; register it again.")
        with self.views.transaction() as cursor:
            cursor.execute(
                "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, "
                "next_attempt_at = ?, first_attempt_at = NULL, delivered_at = NULL "
                "WHERE webhook_id = ? AND position >= ?", (now(), webhook_id, from_position))
            cursor.execute("UPDATE webhooks SET position = ? WHERE id = ? AND position >= ?",
                           (max(from_position - 1, 0), webhook_id, from_position))
