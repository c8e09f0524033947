"""Projection workers side by side: the views' events/s with one `spaces project` worker and
with two, each run from the same events on Kafka into views of its own.

The data set, loaded once into a database, is relayed to a topic of four partitions;
each run copies that database (`CREATE DATABASE … TEMPLATE`, views still empty) and starts
its workers in a consumer group of its own, so both runs apply the same messages from the
start. The rate is taken between 10 % and 90 % of the messages applied, which leaves out
the processes' start and the group's first rebalance.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import dataset
import psycopg
from harness import fresh_database

from tests.support import BIN, clean_env

PARTITIONS = 4
TIMEOUT_SECONDS = 1800


@contextmanager
def spaces_process(command: str, env: dict[str, str], where: Path) -> Iterator[None]:
    where.mkdir(parents=True, exist_ok=True)
    with open(where / f"{command}.log", "w") as log:
        process = subprocess.Popen([str(BIN / "spaces"), command, "--data-dir", str(where)],
                                   env=clean_env(env), stdout=log, stderr=subprocess.STDOUT)
        try:
            yield
        finally:
            process.terminate()
            process.wait(timeout=30)


def wait_for(url: str, sql: str, params: tuple[object, ...], target: int,
             on_value: object = None) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    with psycopg.connect(url, autocommit=True) as connection:
        while True:
            try:
                row = connection.execute(sql, params).fetchone()
                value = int(row[0] or 0) if row else 0
            except psycopg.errors.UndefinedTable:
                value = 0
            if callable(on_value):
                on_value(value)
            if value >= target:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{sql} reached {value} of {target}")
            time.sleep(0.1)


def views_events_per_second(admin: str, kafka: str, secret: str, scale: float,
                            where: Path) -> dict[int, float]:
    """Workers -> the views' events/s, on the data set at `scale`."""
    with fresh_database(admin) as source:
        events = int(dataset.load(source, dataset.Plan.at(scale))["events"])
        return _side_by_side(admin, source, events, kafka, secret, where)


def _side_by_side(admin: str, source: str, events: int, kafka: str, secret: str,
                  where: Path) -> dict[int, float]:
    topic = f"bench.views.{uuid.uuid4().hex[:8]}"
    kafka_env = {"SPACES_KAFKA_BOOTSTRAP": kafka, "SPACES_KAFKA_TOPIC": topic,
                 "SPACES_KAFKA_PARTITIONS": str(PARTITIONS), "SPACES_SECRET": secret,
                 "SPACES_KAFKA_LIVE_PREFIX": f"{topic}."}
    rates = {}
    with spaces_process("relay", {**kafka_env, "SPACES_DATABASE_URL": source}, where / "relay"):
        wait_for(source, "SELECT position FROM relay_position WHERE topic = %s", (topic,), events)
    with psycopg.connect(source) as connection:
        messages = int(connection.execute(
            "SELECT SUM(last_offset + 1) FROM relay_offsets WHERE topic = %s",
            (topic,)).fetchone()[0])
    for workers in (1, 2):
        with fresh_database(admin, copy_of=source) as url:
            env = {**kafka_env, "SPACES_DATABASE_URL": url,
                   "SPACES_PROJECTION_GROUP": f"{topic}.{workers}"}
            seconds = _apply(url, env, topic, workers, messages, where / f"{workers}-workers")
            rates[workers] = 0.8 * events / seconds
    return rates


def _apply(url: str, env: dict[str, str], topic: str, workers: int, messages: int,
           where: Path) -> float:
    """Seconds `workers` took from 10 % to 90 % of the messages applied."""
    marks: dict[str, float] = {}

    def mark(applied: int) -> None:
        for name, share in (("start", 0.1), ("end", 0.9)):
            if applied >= share * messages and name not in marks:
                marks[name] = time.monotonic()

    with ExitStack() as running:
        for i in range(workers):
            running.enter_context(spaces_process("project", env, where / str(i)))
        wait_for(url, "SELECT SUM(last_offset + 1) FROM kafka_positions WHERE topic = %s",
                 (topic,), messages, mark)
    return max(marks["end"] - marks["start"], 1e-3)
