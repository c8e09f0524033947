"""Event committed → visible in the public listing, p50/p99, side by side in one run:
through the relay and Kafka (relay and projection worker as their own processes, views in
PostgreSQL) and on the embedded default (SQLite, projections in-process).

Each sample launches a Space, takes the time when the command has committed, then polls
the listing's table until the Space shows up there.
Run: .venv/bin/python bench/visibility.py [--samples 300]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from harness import fresh_database, p99, services_env

from api.bootstrap import build
from infrastructure.settings import Settings
from tests.integration.faults import Worker


def sample(system, samples: int) -> list[float]:
    host = system.app.register_account(f"h{uuid.uuid4().hex[:8]}").id
    latencies = []
    for _ in range(samples):
        space = system.app.create_space(host, "Latency").id
        system.app.launch(space, host)
        committed = time.perf_counter()
        while not system.views.row("SELECT 1 FROM spaces WHERE id = ? AND state = 'live'",
                                   (str(space),)):
            time.sleep(0.0002)
        latencies.append((time.perf_counter() - committed) * 1000)
        time.sleep(0.005)  # one command at a time, at a steady pace
    return latencies


def through_kafka(env: dict[str, str], samples: int) -> list[float]:
    with fresh_database(env["SPACES_DATABASE_URL"]) as url, tempfile.TemporaryDirectory() as tmp:
        suffix = uuid.uuid4().hex[:8]
        settings = Settings(database_url=url, kafka_bootstrap=env["SPACES_KAFKA_BOOTSTRAP"],
                            kafka_topic=f"bench.{suffix}", projection_group=f"bench-{suffix}",
                            data_dir=Path(tmp), secret="bench")
        system = build(settings, workers=False)
        workers = [Worker(c, settings, Path(tmp), c) for c in ("relay", "project")]
        try:
            sample(system, 20)  # warm up: topic created, partitions assigned
            return sample(system, samples)
        finally:
            for worker in workers:
                worker.stop()
            system.close()


def embedded(samples: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        system = build(Settings(data_dir=Path(tmp), secret="bench"))
        system.start()
        try:
            sample(system, 20)
            return sample(system, samples)
        finally:
            system.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    env = services_env()
    print(f"{'path':<34}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}")
    for label, run in (("PostgreSQL → relay → Kafka → views", lambda: through_kafka(env, args.samples)),
                       ("embedded default (SQLite)", lambda: embedded(args.samples))):
        values = sorted(run())
        print(f"{label:<34}{statistics.median(values):>8.1f}{p99(values):>8.1f}"
              f"{values[-1]:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
