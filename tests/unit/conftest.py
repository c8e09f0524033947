"""In-process HTTP clients on the in-memory store, for the HTTP tests of tests/unit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from infrastructure.settings import Settings


@pytest.fixture
def make_client():
    clients = []

    def make(**settings) -> TestClient:
        client = TestClient(create_app(Settings(event_store="memory", **settings)))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client):
    return make_client()
