"""Settings that only make sense together are checked together, at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from infrastructure.settings import Settings, Topology


def test_the_topology_follows_from_the_stores():
    assert Settings().topology is Topology.EMBEDDED
    postgres = Settings(database_url="postgresql://u:p@127.0.0.1/db")
    assert postgres.topology is Topology.POSTGRES
    assert Settings(database_url="postgresql://u:p@127.0.0.1/db",
                    kafka_bootstrap="127.0.0.1:9092").topology is Topology.KAFKA
    assert Settings(run_workers=False).feeds_views  # the embedded default always does
    assert not postgres.model_copy(update={"run_workers": False}).feeds_views


@pytest.mark.parametrize("settings, complaint", [
    ({"kafka_bootstrap": "127.0.0.1:9092"}, "SPACES_KAFKA_BOOTSTRAP needs SPACES_DATABASE_URL"),
    ({"processes": 2}, "Several server processes need SPACES_DATABASE_URL"),
    ({"oidc_issuer": "https://id.example"}, "SPACES_OIDC_ISSUER needs SPACES_OIDC_AUDIENCE"),
    ({"oidc_issuer": "http://id.example", "oidc_audience": "a"}, "https URL"),
    ({"oidc_roles": ["internal"]}, "SPACES_OIDC_ROLES"),
    ({"token_leeway_seconds": 301}, "less than or equal to 300"),
])
def test_settings_that_cannot_work_together_are_refused(settings, complaint):
    with pytest.raises(ValidationError, match=complaint):
        Settings(**settings)


def test_recordings_live_under_the_data_dir_unless_set():
    assert Settings(data_dir=Path("/srv/spaces")).recordings == Path("/srv/spaces/recordings")
    assert Settings(recordings_dir=Path("/mnt/audio")).recordings == Path("/mnt/audio")
