"""Runs `spaces serve` as a real process on a free port of 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def spaces(*args: str, data_dir: Path) -> str:
    """Runs a `spaces` command line to completion and returns what it printed."""
    done = subprocess.run([str(BIN / "spaces"), *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=120, env=_env())
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SPACES_")}


class Server:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.process: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> httpx.Client:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(self.data_dir.parent / f"server-{port}.log", "w")
        self.process = subprocess.Popen(
            [str(BIN / "spaces"), "serve", "--port", str(port), "--data-dir", str(self.data_dir)],
            stdout=self.log, stderr=subprocess.STDOUT, env=_env(),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"spaces serve exited: {self._log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return httpx.Client(base_url=self.url, timeout=10)
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"spaces serve did not answer within 30 s: {self._log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def _log(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()[-3000:]


@pytest.fixture
def server(tmp_path):
    running = Server(tmp_path / "data")
    yield running
    running.stop()
