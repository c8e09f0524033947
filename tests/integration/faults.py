"""Helpers for the fault tests: bulk events, worker processes, and comparing views."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from domain.space import Space
from infrastructure.settings import Settings
from projections.fanout import Notifier
from projections.runner import all_projections
from tests.support import clean_env

BIN = Path(sys.executable).parent


def many_events(app: Any, spaces: int, per_save: int = 100) -> int:
    """Creates, launches and invites in `spaces` Spaces, saving many in one transaction;
    returns the event store position reached."""
    host = app.register_account(f"host{time.monotonic_ns()}").id
    guest = app.register_account(f"guest{time.monotonic_ns()}").id
    for start in range(0, spaces, per_save):
        batch = []
        for i in range(start, min(start + per_save, spaces)):
            space = Space.create(host, f"Space {i}")
            space.launch(host)
            space.invite(host, guest, user_is_blocked=False)
            space.accept_invitation(guest, actor_is_blocked=False)
            if i % 3 == 0:
                space.end(host)
            batch.append(space)
        app.save(*batch)
    return app.position()


def dump(views: Any) -> dict[str, list]:
    """Every row of every projection table, in a stable order, once the notifier has
    written every notification there is to write."""
    Notifier(views).step()
    return {
        table: views.rows(f"SELECT * FROM {table} ORDER BY 1, 2")
        for projection in all_projections() for table in projection.tables
    }


def assert_views_equal_a_rebuild(system: Any) -> None:
    before = dump(system.views)
    system.projections.rebuild()
    after = dump(system.views)
    differences = {table: (len(before[table]), len(after[table]))
                   for table in before if before[table] != after[table]}
    assert not differences, f"tables that differ from a rebuild (rows before, after): {differences}"


def env_of(settings: Settings) -> dict[str, str]:
    env = {
        "SPACES_DATABASE_URL": settings.database_url, "SPACES_SECRET": settings.secret,
        "SPACES_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "SPACES_KAFKA_TOPIC": settings.kafka_topic,
        "SPACES_PROJECTION_GROUP": settings.projection_group,
    }
    return {name: value for name, value in env.items() if value is not None}


class Worker:
    """`spaces relay` or `spaces project` as a process of its own."""

    def __init__(self, command: str, settings: Settings, log_dir: Path, name: str,
                 env: dict[str, str] | None = None):
        self.log_path = log_dir / f"{name}.log"
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [str(BIN / "spaces"), command, "--data-dir", str(settings.data_dir)],
            stdout=self.log, stderr=subprocess.STDOUT,
            env=clean_env({**env_of(settings), **(env or {})}))

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text()


def eventually(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True
