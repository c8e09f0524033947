"""Real headless Chromium (Debian's, driven by Playwright) against `spaces serve`.

These tests run in a network namespace with only the loopback interface (scripts/test does
that), so that WebRTC between Chromium and the media node never leaves 127.0.0.1.
Each browser has a fake microphone playing a tone of its own.
"""

from __future__ import annotations

import math
import struct
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.support import ROOT, free_port, new_database, services

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
FLAGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--no-sandbox",
         "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--allow-loopback-in-peer-connection",
         "--disable-features=WebRtcHideLocalIpsWithMdns", "--autoplay-policy=no-user-gesture-required"]


def tone_file(path: Path, hz: float, seconds: int = 60) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(48_000)
        out.writeframes(b"".join(struct.pack("<h", int(0.4 * 32767 * math.sin(2 * math.pi * hz * i / 48_000)))
                                 for i in range(48_000 * seconds)))
    return path


@pytest.fixture
def browsers(tmp_path):
    """browsers(hz) launches a Chromium whose microphone plays `hz`."""
    with sync_playwright() as playwright:
        launched = []

        def launch(hz: float, microphone: Path | None = None):
            microphone = microphone or tone_file(tmp_path / f"{hz:g}hz.wav", hz)
            # Playwright starts each browser with a new empty profile of its own
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True,
                args=FLAGS + [f"--use-file-for-fake-audio-capture={microphone}"])
            launched.append(browser)
            return browser

        yield launch
        for browser in launched:
            browser.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A PostgreSQL server of the browser tests' own: the suite's server runs outside this
    network namespace, out of reach. Its address, for `new_database`."""
    env = {"SPACES_SERVICES_DIR": str(ROOT / ".services" / "browser"),
           "SPACES_PG_PORT": str(free_port())}
    services("up", "postgres", env=env)
    try:
        yield dict(line.split("=", 1) for line in services("env", env=env).split())["SPACES_DATABASE_URL"]
    finally:
        services("down", "postgres", env=env)


@pytest.fixture
def database_url(postgres) -> Iterator[str]:
    with new_database(postgres) as url:
        yield url
