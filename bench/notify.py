"""Go-live notifications at celebrity scale (PostgreSQL): a host with 1,000,000 followers
(--quick: 20,000) launches; seconds until every follower's notification is readable (the
notifier has marked all 16 shards of the job done), with one `spaces project` worker and
with two, each run on a copy of the same database. Meanwhile commands go on in this
process (Spaces created by other accounts): their rate during the fan-out against the
seconds just before the launch. Then `GET /v1/notifications` through two API processes
(wrk, 32 connections): reads/s and p50 / p99.

The data set is made through the event store (the followers' follow edges; a thousand of
them are accounts, who read) and the views by `spaces rebuild`; without --quick it is kept
in the database `bench_notify` and finished where it stopped.

Run: .venv/bin/python bench/notify.py [--quick] [--json FILE] [--notification-pause X]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from itertools import islice
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dataset  # noqa: E402
from harness import fresh_database, kept_database, run_wrk, services_env  # noqa: E402
from reads import LUA, SECRET, spaces_command, stored_events, tokens, views_position  # noqa: E402
from workers import spaces_process, wait_for  # noqa: E402

from api.bootstrap import build  # noqa: E402
from domain.people import account_id_for  # noqa: E402
from domain.space import Space  # noqa: E402
from infrastructure.settings import Settings  # noqa: E402
from infrastructure.tokens import Grants  # noqa: E402
from projections.notifications import SHARDS  # noqa: E402
from tests.support import Server  # noqa: E402

KEPT = "bench_notify"
HOST = "celebrityhost"
READERS = 1_000  # followers who are accounts: they read their notifications
FOLLOWERS = 1_000_000
QUICK_FOLLOWERS = 20_000
BEFORE_SECONDS = 8  # commands timed before the launch, after the workers' start
STARTUP_SECONDS = 3
CONNECTIONS = 32
FOLLOWER_IDS = uuid.UUID("5e7a1c2b-0000-4000-8000-000000000000")  # the namespace of the others


def reader(i: int) -> str:
    return f"reader{i}"


def follower_ids(count: int) -> Iterator[uuid.UUID]:
    """The readers' account ids, then followers who are ids only (spread over the shards)."""
    for i in range(count):
        yield account_id_for(reader(i)) if i < READERS else uuid.uuid5(FOLLOWER_IDS, str(i))


def load(url: str, followers: int) -> None:
    loader = dataset.Loader(url)
    try:
        done = loader.counts()
        host = account_id_for(HOST)
        handles = [HOST] + [reader(i) for i in range(READERS)]
        dataset._stage(loader, "accounts", done["accounts"], len(handles),
                       (dataset._account(h) for h in handles[done["accounts"]:]), 2, sys.stderr)
        dataset._stage(loader, "follows", done["follows"], followers,
                       (dataset._follow(f, host) for f in islice(
                           follower_ids(followers), done["follows"], None)),
                       dataset.FOLLOW_EVENTS, sys.stderr)
        if not done["spaces"]:
            loader.save([Space.create(host, "The celebrity speaks")])
    finally:
        loader.close()


@contextmanager
def data_set(admin: str, followers: int, keep: bool, where: Path) -> Iterator[str]:
    """A database with the data set and its views caught up (kept, or fresh and dropped)."""
    with kept_database(admin, KEPT) if keep else fresh_database(admin) as url:
        load(url, followers)
        if views_position(url) < stored_events(url):
            print("views: catching up with the data set (spaces rebuild)", file=sys.stderr)
            spaces_command(url, where / "catch-up", "rebuild")
        chain(url, where)
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("ANALYZE")
        yield url


def chain(url: str, where: Path) -> None:
    """The hash chain over the data set, made now: else the workers of the first run spend
    their cores extending it while they fan out."""
    system = build(Settings(database_url=url, data_dir=where / "chain", secret=SECRET),
                   workers=False)
    try:
        chained = system.chain.extend()
        if chained:
            print(f"hash chain: {chained:,} events chained", file=sys.stderr)
    finally:
        system.close()


class Commands(threading.Thread):
    """Commands back to back (readers create Spaces), each one's end time kept."""

    def __init__(self, app):
        super().__init__(daemon=True)
        self.app, self.done, self.stopped = app, [], threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stopped.is_set():
            self.app.create_space(account_id_for(reader(n % READERS)), f"Meanwhile {n}")
            self.done.append(time.monotonic())
            n += 1

    def rate(self, start: float, end: float) -> float:
        return sum(start <= t < end for t in self.done) / max(end - start, 1e-3)


def fan_out(admin: str, source: str, workers: int, where: Path, pause: float | None,
            then=None) -> dict[str, float]:
    """The launch's fan-out with `workers` workers, on a copy of the data set; `then(url)`
    runs on that copy afterwards."""
    with fresh_database(admin, copy_of=source) as url:
        env = {"SPACES_DATABASE_URL": url, "SPACES_SECRET": SECRET,
               **({} if pause is None else {"SPACES_NOTIFICATION_PAUSE": str(pause)})}
        system = build(Settings(database_url=url, data_dir=where / f"app-{workers}",
                                secret=SECRET), workers=False)
        try:
            (space,) = system.views.rows("SELECT id FROM spaces WHERE host_id = ? AND "
                                         "state = 'created'", (str(account_id_for(HOST)),))
            with ExitStack() as running:
                for i in range(workers):
                    running.enter_context(spaces_process("project", env, where / f"{workers}-{i}"))
                time.sleep(STARTUP_SECONDS)
                commands = Commands(system.app)
                commands.start()
                before = time.monotonic()
                time.sleep(BEFORE_SECONDS)
                position = system.app.launch(uuid.UUID(space["id"]), account_id_for(HOST)).position
                launched = time.monotonic()
                wait_for(url, "SELECT COUNT(*) FROM notification_shards WHERE position = %s "
                         "AND done = 1", (position,), SHARDS)
                seconds = time.monotonic() - launched
                commands.stopped.set()
                commands.join()
            during = commands.rate(launched, launched + seconds)
            figures = {"seconds": seconds, "commands_before_per_s": commands.rate(before, launched),
                       "commands_during_per_s": during}
        finally:
            system.close()
        if then:
            figures.update(then(url))
        return figures


def reads(url: str, seconds: int, where: Path) -> dict[str, float]:
    issuer = tokens()
    lines = [(issuer.issue(str(account_id_for(reader(i))), Grants.of("user")),
              "/v1/notifications?limit=20") for i in range(READERS)]
    paths = where / "notifications.tsv"
    paths.write_text("".join(f"{token}\t{path}\n" for token, path in lines))
    lua = where / "notifications.lua"
    lua.write_text(LUA % {"file": paths, "seed": 1})
    api = Server(where / "api", {"SPACES_DATABASE_URL": url, "SPACES_SECRET": SECRET},
                 ("--processes", "2", "--no-background-workers"))
    api.start()
    try:
        run_wrk(api.url, lua, 2, CONNECTIONS)  # connections made, plans cached
        return run_wrk(api.url, lua, seconds, CONNECTIONS)
    finally:
        api.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_FOLLOWERS:,} followers")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--notification-pause", type=float,
                        help="the workers' SPACES_NOTIFICATION_PAUSE (else its default)")
    args = parser.parse_args()
    followers, seconds = (QUICK_FOLLOWERS, 3) if args.quick else (FOLLOWERS, 10)
    admin = services_env()["SPACES_DATABASE_URL"]
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as tmp:
        where = Path(tmp)
        with data_set(admin, followers, not args.quick, where) as source:
            pause = args.notification_pause
            runs = {1: fan_out(admin, source, 1, where, pause),
                    2: fan_out(admin, source, 2, where, pause,
                               lambda url: reads(url, seconds, where))}
    print(f"a launch to {followers:,} followers")
    print(f"{'workers':<9}{'seconds':>9}{'notified/s':>12}{'commands/s before':>19}"
          f"{'during':>8}")
    for workers, run in runs.items():
        print(f"{workers:<9}{run['seconds']:>9.1f}{followers / run['seconds']:>12,.0f}"
              f"{run['commands_before_per_s']:>19.0f}{run['commands_during_per_s']:>8.0f}")
    read = runs[2]
    print(f"GET /v1/notifications: {read['requests_per_second']:,.0f} reads/s, "
          f"p50 {read['p50_ms']:.1f} ms, p99 {read['p99_ms']:.1f} ms, {read['errors']:.0f} errors")
    slowdowns = [1 - r["commands_during_per_s"] / r["commands_before_per_s"] for r in runs.values()]
    figures = {
        "followers": followers,
        "fanout_seconds_1m": runs[2]["seconds"] * FOLLOWERS / followers,
        "fanout_per_s": followers / runs[2]["seconds"],
        "one_worker_fanout_per_s": followers / runs[1]["seconds"],
        "workers_speedup": runs[1]["seconds"] / runs[2]["seconds"],
        "command_slowdown": max(slowdowns),
        "notification_reads_per_s": read["requests_per_second"],
        "notification_p99_ms": read["p99_ms"],
    }
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
