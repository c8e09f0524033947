"""Webhooks on PostgreSQL: signed, in order per Space, retried; with two dispatchers (two
API processes' worth) only the holder of the lock sends, so each event arrives once."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from infrastructure.settings import Settings
from tests.unit.test_webhooks import FAST, check_events_arrive_signed_in_order_and_retried


def test_webhooks_on_postgres_with_two_dispatchers(database_url, tmp_path):
    settings = Settings(database_url=database_url, data_dir=tmp_path, secret="s", **FAST)
    with TestClient(create_app(settings)) as client, TestClient(create_app(settings)):
        check_events_arrive_signed_in_order_and_retried(client)
