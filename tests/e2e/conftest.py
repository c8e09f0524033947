"""The e2e suite runs `spaces serve` as a real process (see tests.support.Server)."""

import pytest

from tests.support import Server


@pytest.fixture
def server(tmp_path):
    running = Server(tmp_path / "data")
    yield running
    running.stop()
