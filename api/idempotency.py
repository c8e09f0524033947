"""`Idempotency-Key` on state-changing requests: a repeat gets the first response again.

Keys are scoped to the caller's credentials, and remembered with a fingerprint of
method, path and body: the same key on a different request is refused (422).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS idempotency_keys (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, "
    "status INTEGER NOT NULL, headers TEXT NOT NULL, body TEXT NOT NULL)"
)
REPLAYED_HEADERS = {b"content-type", b"location"}


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", ())) if scope["type"] == "http" else {}
        key = headers.get(b"idempotency-key")
        if scope["type"] != "http" or scope["method"] not in CHANGING or key is None:
            await self.app(scope, receive, send)
            return
        views = scope["app"].state.system.views
        body = await _read_body(receive)
        scoped_key = _digest(headers.get(b"authorization", b""), key)
        fingerprint = _digest(scope["method"].encode(), scope["path"].encode(),
                              scope.get("query_string", b""), body)
        stored = views.row("SELECT * FROM idempotency_keys WHERE key = ?", (scoped_key,))
        if stored is not None:
            await _replay(stored, fingerprint, send)
            return

        captured: dict[str, Any] = {"body": b""}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = [
                    [k.decode(), v.decode()] for k, v in message.get("headers", [])
                    if k.lower() in REPLAYED_HEADERS
                ]
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        await self.app(scope, _replaying(body, receive), capture)
        if captured.get("status", 500) < 500:
            with views.transaction() as cursor:
                cursor.execute(
                    "INSERT INTO idempotency_keys (key, fingerprint, status, headers, body) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                    (scoped_key, fingerprint, captured["status"],
                     json.dumps(captured["headers"]), captured["body"].decode()),
                )


def create_table(views: Any) -> None:
    with views.transaction() as cursor:
        cursor.execute(SCHEMA)


async def _replay(stored: dict[str, Any], fingerprint: str, send: Send) -> None:
    if stored["fingerprint"] != fingerprint:
        status, body = 422, json.dumps({
            "type": "https://spaces.invalid/problems/422", "title": "Invalid input",
            "status": 422,
            "detail": "This Idempotency-Key was used for a different request; use a new key.",
        }).encode()
        headers = [[b"content-type", b"application/problem+json"]]
    else:
        status, body = stored["status"], stored["body"].encode()
        headers = [[k.encode(), v.encode()] for k, v in json.loads(stored["headers"])]
        headers.append([b"idempotent-replayed", b"true"])
    headers.append([b"content-length", str(len(body)).encode()])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


def _replaying(body: bytes, receive: Receive) -> Receive:
    """Hands the buffered body to the app once, then listens to the client as usual."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()
