"""`Idempotency-Key` on state-changing requests: a repeat gets the first response again.

Keys are scoped to who is asking (the principal a valid token names, or "anonymous"), never
to the token's bytes, and remembered with a fingerprint of method, path and body: the same
key on a different request is refused (422). The first request claims its key with a row
inserted before it runs, so concurrent repeats (in any API process) wait for its response
(409 "in progress" if it takes longer than a few seconds) instead of running again. A
response is stored without the secrets it carries (a sign-up's `token`): a repeat gets the
account, not a token; and a failure (5xx) frees the key for another try.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.body_limit import replaying
from infrastructure.tokens import BadToken

if TYPE_CHECKING:
    from api.callers import Callers
    from application.ports import Views

CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS idempotency_keys (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, "
    "status INTEGER NOT NULL, headers TEXT NOT NULL, body TEXT NOT NULL)"
)
IN_PROGRESS = 0  # the status of a claimed key whose first request has not answered yet
REPLAYED_HEADERS = {b"content-type", b"location"}
SECRETS = {"token"}  # response fields never stored, so never replayed
WAIT_FOR_FIRST = 5.0  # seconds a repeat waits for the first request's response


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", ())) if scope["type"] == "http" else {}
        key = headers.get(b"idempotency-key")
        if scope["type"] != "http" or scope["method"] not in CHANGING or key is None:
            await self.app(scope, receive, send)
            return
        system = scope["app"].state.system
        principal = await _principal(system.callers, headers.get(b"authorization"))
        if principal is None:  # a bad token: the route answers 401
            await self.app(scope, receive, send)
            return
        views = system.views
        body = await _read_body(receive)
        scoped_key = _digest(principal.encode(), key)
        fingerprint = _digest(scope["method"].encode(), scope["path"].encode(),
                              scope.get("query_string", b""), body)
        if not _claim(views, scoped_key, fingerprint):
            await _replay(await _first_response(views, scoped_key), fingerprint, send)
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

        try:
            await self.app(scope, replaying(body, receive), capture)
        finally:
            with views.transaction() as cursor:
                if captured.get("status", 500) < 500:
                    cursor.execute(
                        "UPDATE idempotency_keys SET status = ?, headers = ?, body = ? "
                        "WHERE key = ?", (captured["status"], json.dumps(captured["headers"]),
                                          _without_secrets(captured["body"]), scoped_key))
                else:
                    cursor.execute("DELETE FROM idempotency_keys WHERE key = ?", (scoped_key,))


async def _principal(callers: Callers, authorization: bytes | None) -> str | None:
    if not authorization:
        return "anonymous"
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer":
        return None
    try:
        verified = await callers.verified(token.strip())
    except BadToken:
        return None
    return verified.principal


def _claim(views: Views, key: str, fingerprint: str) -> bool:
    """True if this request is the first with the key (and now holds it)."""
    with views.transaction() as cursor:
        cursor.execute(
            "INSERT INTO idempotency_keys (key, fingerprint, status, headers, body) "
            "VALUES (?, ?, ?, '[]', '') ON CONFLICT (key) DO NOTHING RETURNING key",
            (key, fingerprint, IN_PROGRESS))
        return cursor.fetchone() is not None


async def _first_response(views: Views, key: str) -> dict[str, Any] | None:
    """The first request's stored response, once it has one; None if it still runs (or
    failed and let the key go)."""
    deadline = time.monotonic() + WAIT_FOR_FIRST
    pause = 0.005
    while True:
        stored = views.row("SELECT * FROM idempotency_keys WHERE key = ?", (key,))
        if stored is None or stored["status"] != IN_PROGRESS or time.monotonic() > deadline:
            return stored
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.1)


def _without_secrets(body: bytes) -> str:
    try:
        parsed = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")
    if isinstance(parsed, dict) and SECRETS & parsed.keys():
        return json.dumps({k: v for k, v in parsed.items() if k not in SECRETS})
    return body.decode()


def create_table(views: Views) -> None:
    with views.transaction() as cursor:
        cursor.execute(SCHEMA)


def _problem(status: int, title: str, detail: str) -> bytes:
    return json.dumps({"type": f"https://spaces.invalid/problems/{status}", "title": title,
                       "status": status, "detail": detail}).encode()


async def _replay(stored: dict[str, Any] | None, fingerprint: str, send: Send) -> None:
    headers = [[b"content-type", b"application/problem+json"]]
    if stored is not None and stored["fingerprint"] != fingerprint:
        status, body = 422, _problem(
            422, "Invalid input", "This Idempotency-Key was used for a different request; use a new key.")
    elif stored is None or stored["status"] == IN_PROGRESS:
        status, body = 409, _problem(
            409, "Conflict", "A request with this Idempotency-Key is still in progress (or has "
            "just failed); retry shortly.")
        headers.append([b"retry-after", b"1"])
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


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()
