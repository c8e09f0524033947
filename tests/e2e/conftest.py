"""The e2e suite runs `spaces serve` as a real process (see tests.support.Server).

The browser tests run only inside the loopback-only network namespace that scripts/test
makes for them (SPACES_BROWSER_TESTS=1): outside it Chromium's WebRTC would use other
interfaces than 127.0.0.1."""

import os

import pytest

from tests.support import Server

collect_ignore = [] if os.environ.get("SPACES_BROWSER_TESTS") == "1" else ["browser"]


@pytest.fixture
def server(tmp_path):
    running = Server(tmp_path / "data")
    yield running
    running.stop()
