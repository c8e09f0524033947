"""Host analytics on PostgreSQL views: the figures, equal after a rebuild."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from infrastructure.settings import Settings
from tests.unit.test_analytics import check_analytics_equal_a_rebuilds


def test_analytics_on_postgres_equal_a_rebuilds(database_url, tmp_path):
    settings = Settings(database_url=database_url, data_dir=tmp_path, secret="s")
    with TestClient(create_app(settings)) as client:
        check_analytics_equal_a_rebuilds(client)
