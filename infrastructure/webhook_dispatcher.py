"""Sends Space events to the registered webhooks: signed, in order per Space, retried with
exponential backoff for up to a day (infrastructure/webhooks.py holds the endpoints and
the log).

Each round it first copies the events stored since each endpoint's position that it
wants into `webhook_deliveries` (moving the position in the same transaction), then sends,
for every (endpoint, Space), the oldest delivery not yet delivered or given up, once it is
due. A Space's next event waits for the one before it; other Spaces and other endpoints do
not wait: sends run on a pool of threads, at most `per_endpoint` at once for one endpoint,
so an endpoint that is down or slow holds only its own slots, and the views are fed
elsewhere. With PostgreSQL one dispatcher sends at a time, the holder of an advisory lock
(the others stand by), so nothing is sent twice by two processes at once; a dispatcher
killed after a send and before recording it sends that one again (same `webhook-id`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from uuid import UUID

import httpx

from application.background import BackgroundThread
from domain.errors import InvalidInput
from domain.space import Space
from infrastructure import webhook_signing
from infrastructure.webhook_urls import check_url
from infrastructure.webhooks import message_id, now
from projections.base import text

if TYPE_CHECKING:
    from application.command_application import CommandApplication
    from application.ports import Views

log = logging.getLogger(__name__)
WEBHOOKS_LOCK = 0x5745_4248  # "WEBH"
ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}


class WebhookDispatcher(BackgroundThread):
    def __init__(self, app: CommandApplication, views: Views, *, database_url: str | None = None,
                 allow_private: bool = False, retry_seconds: float = 1.0, give_up_hours: float = 24.0,
                 timeout: float = 5.0, threads: int = 8, per_endpoint: int = 2, every: float = 0.2):
        super().__init__("webhooks")
        self.app, self.views, self.database_url = app, views, database_url
        self.allow_private, self.timeout = allow_private, timeout
        self.retry_seconds, self.give_up = retry_seconds, timedelta(hours=give_up_hours)
        self.per_endpoint, self.every = per_endpoint, every
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="webhook-send")
        self._in_flight: set[tuple[str, str]] = set()  # (endpoint, Space) being sent
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                if self.database_url is None:
                    self._lead()
                else:
                    import psycopg

                    with psycopg.connect(self.database_url, autocommit=True) as leadership:
                        while not (leadership.execute("SELECT pg_try_advisory_lock(%s)",
                                                      (WEBHOOKS_LOCK,)).fetchone() or (False,))[0]:
                            if self._stopped.wait(1.0):  # another process sends: stand by
                                return
                        self._lead()
            except Exception:
                log.exception("webhook dispatcher failed; trying again")
                self._stopped.wait(1.0)

    def stop(self) -> None:
        super().stop()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()

    def _lead(self) -> None:
        while not self._stopped.is_set():
            if self.views.row("SELECT 1 AS found FROM webhooks WHERE active = 1 LIMIT 1") \
                    or self._in_flight:
                self.enqueue()
                self.send_due()
            self._stopped.wait(self.every)

    # -- the outbox ----------------------------------------------------------------------

    def enqueue(self, batch: int = 500) -> int:
        """Copies the new events each active endpoint wants into its deliveries."""
        endpoints = self.views.rows("SELECT id, event_types, position FROM webhooks WHERE active = 1")
        if not endpoints:
            return 0
        start = min(e["position"] for e in endpoints)
        notifications = self.app.recorder.select_notifications(
            start=start, limit=batch, inclusive_of_start=False)
        rows = []
        for notification in notifications:
            event = self.app.event_of(notification)
            if not isinstance(event, Space.Event):
                continue
            kind = type(event).__name__
            for endpoint in endpoints:
                wanted = endpoint["event_types"].split()
                if endpoint["position"] < notification.id and ("*" in wanted or kind in wanted):
                    rows.append((endpoint["id"], notification.id, str(event.originator_id), kind,
                                 _body(event, notification.id), now()))
        end = notifications[-1].id if notifications else start
        with self.views.transaction() as cursor:
            cursor.executemany(
                "INSERT INTO webhook_deliveries (webhook_id, position, space_id, event_type, body, "
                "state, next_attempt_at) VALUES (?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT DO NOTHING",
                rows)
            # Only the endpoints read above, from where they were (one registered or
            # replayed meanwhile is taken from its own position next round).
            cursor.executemany("UPDATE webhooks SET position = ? WHERE id = ? AND position = ?",
                               [(end, e["id"], e["position"]) for e in endpoints if e["position"] < end])
        return len(rows)

    # -- sending -------------------------------------------------------------------------

    def send_due(self) -> None:
        """Starts sending the first due delivery of every (endpoint, Space) not being sent."""
        for delivery in self._due():
            key = (delivery["webhook_id"], delivery["space_id"])
            with self._lock:
                busy = sum(1 for endpoint, _ in self._in_flight if endpoint == key[0])
                if key in self._in_flight or busy >= self.per_endpoint:
                    continue
                self._in_flight.add(key)
            self._pool.submit(self._send, delivery, key)

    def _due(self, key: tuple[str, str] | None = None) -> list[dict[str, Any]]:
        """Each (endpoint, Space)'s first delivery not delivered or given up, if it is due
        (of one `key` only, if given)."""
        only = "AND d.webhook_id = ? AND d.space_id = ? " if key else ""
        return self.views.rows(
            "SELECT d.webhook_id, d.position, d.space_id, d.body, d.attempts, d.first_attempt_at, "
            "w.url, w.secret FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id "
            f"WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND d.position <= w.position {only}"
            "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id "
            "AND e.space_id = d.space_id AND e.state = 'pending' AND e.position < d.position) "
            "ORDER BY d.position LIMIT 200", (now(), *(key or ())))

    def _send(self, delivery: dict[str, Any], key: tuple[str, str]) -> None:
        """Sends it, then the Space's next ones while they are due and get through."""
        try:
            while not self._stopped.is_set():
                status, error = self._post(delivery)
                self._record(delivery, status, error)
                following = self._due(key) if error is None else []
                if not following:
                    return
                delivery = following[0]
        except Exception:
            log.exception("webhook delivery %s not recorded", key)
        finally:
            with self._lock:
                self._in_flight.discard(key)

    def _post(self, delivery: dict[str, Any]) -> tuple[int | None, str | None]:
        body = delivery["body"].encode()
        headers = webhook_signing.headers(delivery["secret"], message_id(
            delivery["webhook_id"], delivery["position"]), int(time.time()), body)
        try:
            check_url(delivery["url"], self.allow_private)
            response = self._client.post(delivery["url"], content=body, headers=headers)
        except InvalidInput as refused:
            return None, str(refused)
        except httpx.HTTPError as error:
            return None, f"{type(error).__name__}: {error}"[:500]
        return response.status_code, None if response.is_success else f"HTTP {response.status_code}"

    def _record(self, delivery: dict[str, Any], status: int | None, error: str | None) -> None:
        at = datetime.now(timezone.utc)
        first = delivery["first_attempt_at"] or at.isoformat()
        attempts = delivery["attempts"] + 1
        if error is None:
            state, next_at = "delivered", at
        else:
            given_up = at - datetime.fromisoformat(first) >= self.give_up
            state = "failed" if given_up else "pending"
            next_at = at + timedelta(seconds=min(self.retry_seconds * 2 ** (attempts - 1), 3600.0))
        with self.views.transaction() as cursor:
            cursor.execute(
                "UPDATE webhook_deliveries SET state = ?, attempts = ?, next_attempt_at = ?, "
                "first_attempt_at = ?, last_attempt_at = ?, last_status = ?, last_error = ?, "
                "delivered_at = ? WHERE webhook_id = ? AND position = ? AND state = 'pending'",
                (state, attempts, next_at.isoformat(), first, at.isoformat(), status, error,
                 at.isoformat() if state == "delivered" else None,
                 delivery["webhook_id"], delivery["position"]))


def _body(event: Any, position: int) -> str:
    """The JSON a receiver gets: the event's type, time and fields, and where it stands."""
    data = {k: text(v) if isinstance(v, (datetime, UUID)) else v
            for k, v in vars(event).items() if k not in ENVELOPE}
    return json.dumps({"type": type(event).__name__, "timestamp": text(event.timestamp),
                       "data": {"space_id": str(event.originator_id), "position": position,
                                "version": event.originator_version, **data}},
                      ensure_ascii=False, separators=(",", ":"))
