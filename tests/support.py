"""Helpers shared by the HTTP tests: people with tokens, and problem+json checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Person:
    id: str
    handle: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def register(client: Any, handle: str) -> Person:
    response = client.post("/v1/accounts", json={"handle": handle})
    assert response.status_code == 201, response.text
    body = response.json()
    return Person(body["id"], body["handle"], body["token"])


def assert_problem(response: Any, status: int, detail_contains: str = "") -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"]
    assert detail_contains.lower() in body["detail"].lower(), body["detail"]
    return body
