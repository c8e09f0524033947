"""Real PostgreSQL and Kafka for integration tests: started by scripts/services, never faked.

Each test gets a database of its own and a Kafka topic and consumer group of its own.
If the servers cannot be started the tests fail; they are not skipped.
"""

from __future__ import annotations

import uuid

import pytest

from infrastructure.settings import Settings
from tests.support import new_database, services


def pytest_collection_modifyitems(items):
    """Tests that stop and restart the shared Kafka broker run last, so that no other test
    meets a broker that is still settling after its restart."""
    items.sort(key=lambda item: item.get_closest_marker("restarts_kafka") is not None)


@pytest.fixture(scope="session")
def servers() -> dict[str, str]:
    services("up")
    return dict(line.split("=", 1) for line in services("env").split())


@pytest.fixture
def database_url(servers):
    with new_database(servers["SPACES_DATABASE_URL"]) as url:
        yield url


@pytest.fixture
def kafka_settings(servers, database_url, tmp_path) -> Settings:
    """Settings for a system on PostgreSQL and Kafka, isolated from every other test."""
    suffix = uuid.uuid4().hex[:8]
    return Settings(
        database_url=database_url, kafka_bootstrap=servers["SPACES_KAFKA_BOOTSTRAP"],
        kafka_topic=f"test.events.{suffix}", projection_group=f"test-{suffix}",
        kafka_live_prefix=f"test.{suffix}.",
        data_dir=tmp_path, secret="test-secret",
    )
