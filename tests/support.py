"""Helpers shared by the HTTP tests: people with tokens, and problem+json checks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]


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


BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def spaces(*args: str, data_dir: Path, env: dict[str, str] | None = None) -> str:
    """Runs a `spaces` command line to completion and returns what it printed."""
    done = subprocess.run([str(BIN / "spaces"), *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=120, env=clean_env(env))
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without SPACES_* settings, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPACES_")}
    return {**env, **(extra or {})}


class Server:
    """`spaces serve` as a real process on a free port of 127.0.0.1."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None,
                 args: tuple[str, ...] = (), command: str = "serve", port: int | None = None,
                 bin_dir: Path = BIN):
        self.bin_dir = bin_dir  # the venv whose `spaces` runs
        self.data_dir = data_dir
        self.env = env or {}
        self.args = args
        self.command = command
        self.port = port
        self.process: subprocess.Popen | None = None
        self.log: Any = None
        self.url = ""

    def start(self) -> httpx.Client:
        port = self.port or free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log = open(self.data_dir.parent / f"server-{port}.log", "w")
        self.process = subprocess.Popen(
            [str(self.bin_dir / "spaces"), self.command, "--port", str(port), "--data-dir", str(self.data_dir),
             *self.args],
            stdout=self.log, stderr=subprocess.STDOUT, env=clean_env(self.env),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"spaces {self.command} exited: {self._log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return httpx.Client(base_url=self.url, timeout=10)
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"spaces {self.command} did not answer within 30 s: {self._log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log is not None:
            self.log.close()

    def _log(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()[-3000:]


def services(*args: str, env: dict[str, str] | None = None) -> str:
    """Runs scripts/services (real PostgreSQL and Kafka); a failure fails the test."""
    done = subprocess.run([str(ROOT / "scripts" / "services"), *args], capture_output=True,
                          text=True, timeout=600, env={**os.environ, **(env or {})})
    if done.returncode != 0:
        pytest.fail(f"scripts/services {' '.join(args)} failed:\n{done.stderr}", pytrace=False)
    return done.stdout


@contextmanager
def new_database(admin_url: str, copy_of: str | None = None) -> Iterator[str]:
    """A database of its own on the server of `admin_url` (a copy of the database at the
    URL `copy_of`, which nobody may be connected to), dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    template = f" TEMPLATE {copy_of.rsplit('/', 1)[1]}" if copy_of else ""
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}{template}")
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def nginx_cache(upstream: str, where: Path) -> Iterator[str]:
    """Debian's nginx as the HTTP cache in front of `upstream` (scripts/nginx/spaces.conf),
    on a free port; answers its base URL, and stops it afterwards."""
    env = {"SPACES_SERVICES_DIR": str(where), "SPACES_NGINX_PORT": str(free_port()),
           "SPACES_NGINX_UPSTREAM": upstream.removeprefix("http://")}
    services("up", "nginx", env=env)
    try:
        yield f"http://127.0.0.1:{env['SPACES_NGINX_PORT']}"
    finally:
        services("down", "nginx", env=env)
