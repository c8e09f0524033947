"""A data set at social-network scale, made through the event store: accounts, follows with
a heavy tail, live, upcoming and ended Spaces, as the domain's own events saved by the
application in large batches (one transaction each). The plan is drawn from a fixed seed,
so a run that stops goes on where it stopped: it counts what the store holds of each kind
and saves the rest. The views are not fed here (`spaces rebuild`, or a running worker, does
that); prints how many events it stored and how long it took.

At scale 1 (the issue's figures): 100,000 accounts; 1,000,000 follows, of which every
account follows the celebrity (@celebrity, 100,000 followers: with 100,000 accounts no host
can have more), three big hosts have 50,000 followers each, 20 heavy readers follow 5,000
hosts each, and everyone else follows about 6 hosts drawn with a heavy tail (a few hosts
are followed by thousands); 10,000 live Spaces, 5,000 upcoming ones and 50,000 ended ones.

Run: .venv/bin/python bench/dataset.py --database-url URL [--scale 0.01]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import islice
from pathlib import Path
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from application.spaces import SpacesApplication  # noqa: E402
from domain.people import Account, Follow, HandleClaim, account_id_for  # noqa: E402
from domain.space import Space  # noqa: E402
from infrastructure.event_store import postgres_env  # noqa: E402

SEED = 17
BATCH_EVENTS = 4_000  # events per transaction (far bigger ones can stall psycopg's pipeline)
CELEBRITY = "celebrity"
BIG_HOSTS = 3
FOLLOW_EVENTS = 2  # an edge is created, then followed
# what the store holds of each kind: one of these events per item saved
COUNTED = {"accounts": "spaces:AccountRegistered", "follows": "spaces:FollowEdgeCreated",
           "spaces": "spaces:SpaceCreated"}


@dataclass(frozen=True)
class Plan:
    accounts: int
    follows: int
    live: int
    upcoming: int
    ended: int
    heavy_readers: int
    heavy_follows: int

    @classmethod
    def at(cls, scale: float) -> Plan:
        accounts = max(1_000, round(100_000 * scale))
        return cls(accounts=accounts, follows=round(1_000_000 * scale),
                   live=round(10_000 * scale), upcoming=round(5_000 * scale),
                   ended=round(50_000 * scale), heavy_readers=max(2, round(20 * scale)),
                   heavy_follows=min(5_000, accounts // 2))

    def handle(self, i: int) -> str:
        return CELEBRITY if i == 0 else f"user{i}"

    def big_hosts(self) -> range:
        return range(1, 1 + BIG_HOSTS)

    def heavy(self) -> range:
        """The readers who follow many hosts."""
        return range(100, 100 + self.heavy_readers)

    def popular(self, rng: random.Random, tail: float = 3.0) -> int:
        """An account drawn with a heavy tail: low numbers far more often than high ones
        (account k about k^(1/tail - 1) as often as account 1)."""
        return 1 + int((self.accounts - 1) * rng.random() ** tail)

    def follow_pairs(self) -> Iterator[tuple[int, int]]:
        """(follower, followee) by account number, each pair once, in a fixed order."""
        rng = random.Random(SEED)
        n = self.accounts
        for follower in range(1, n):
            yield follower, 0
        big = max(1, min(n - 1, self.follows * 5 // 100))  # 5 % of the follows each
        for host in self.big_hosts():
            for follower in rng.sample(range(n), big):
                if follower != host:
                    yield follower, host
        for reader in self.heavy():
            for host in rng.sample(range(BIG_HOSTS + 1, n), self.heavy_follows):
                if host != reader:
                    yield reader, host
        # the rest: readers follow a few hosts each, drawn with a heavy tail
        left = self.follows - n - BIG_HOSTS * big - self.heavy_readers * self.heavy_follows
        taken: set[tuple[int, int]] = set()
        while left > 0:
            follower, host = rng.randrange(1, n), self.popular(rng)
            if host > BIG_HOSTS and host != follower and follower not in self.heavy() \
                    and (follower, host) not in taken:
                taken.add((follower, host))
                left -= 1
                yield follower, host

    def spaces(self) -> Iterator[tuple[int, str]]:
        """(host, "live" / "upcoming" / "ended") in a fixed order; hosts drawn
        with a tail lighter than the followed (no host runs hundreds at once)."""
        rng = random.Random(SEED + 1)
        kinds = ["live"] * self.live + ["upcoming"] * self.upcoming + ["ended"] * self.ended
        rng.shuffle(kinds)
        for kind in kinds:
            yield self.popular(rng, tail=1.5), kind


class Loader:
    def __init__(self, database_url: str):
        self.app = SpacesApplication(postgres_env(database_url, 2), cache_size=0)
        self.table = f"{self.app.name.lower()}_events"
        self.stored = 0
        self.now = datetime.now(timezone.utc)

    def counts(self) -> dict[str, int]:
        datastore = self.app.recorder.datastore  # type: ignore[attr-defined]
        with datastore.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT topic, count(*) AS n FROM {self.table} WHERE topic = ANY(%s) "
                           "GROUP BY topic", (list(COUNTED.values()),))
            by_topic = {row["topic"]: row["n"] for row in cursor.fetchall()}
        return {kind: by_topic.get(topic, 0) for kind, topic in COUNTED.items()}

    def save(self, batch: list[Any]) -> None:
        if batch:
            self.stored += sum(len(a.pending_events) for a in batch)
            self.app.save(*batch)
            batch.clear()

    def close(self) -> None:
        self.app.close()


def load(database_url: str, plan: Plan, out: Any = sys.stderr) -> dict[str, float]:
    loader = Loader(database_url)
    started = time.monotonic()
    try:
        done = loader.counts()
        ids = [account_id_for(plan.handle(i)) for i in range(plan.accounts)]
        _stage(loader, "accounts", done["accounts"], plan.accounts,
               (_account(plan.handle(i)) for i in range(done["accounts"], plan.accounts)), 2, out)
        pairs = islice(plan.follow_pairs(), done["follows"], None)
        _stage(loader, "follows", done["follows"], plan.follows,
               (_follow(ids[a], ids[b]) for a, b in pairs), FOLLOW_EVENTS, out)
        spaces = islice(plan.spaces(), done["spaces"], None)
        _stage(loader, "spaces", done["spaces"], plan.live + plan.upcoming + plan.ended,
               (_space(ids[host], kind, loader.now, n) for n, (host, kind) in enumerate(spaces)),
               3, out)
    finally:
        loader.close()
    seconds = time.monotonic() - started
    return {"events": loader.stored, "seconds": seconds,
            "events_per_s": loader.stored / seconds if seconds else 0.0}


def _stage(loader: Loader, name: str, done: int, total: int, items: Iterator[list[Any]],
           events_each: int, out: Any) -> None:
    batch: list[Any] = []
    per_batch = max(1, BATCH_EVENTS // events_each)
    count = done
    for aggregates in items:
        batch += aggregates
        count += 1
        if len(batch) >= per_batch:
            loader.save(batch)
            _progress(out, name, count, total)
    loader.save(batch)
    _progress(out, name, max(count, total), total)
    print(file=out)


def _progress(out: Any, name: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // total if total else width
    print(f"\r{name:<9}[{'#' * filled}{'.' * (width - filled)}] {done:>9,}/{total:,}",
          end="", file=out, flush=True)


def _account(handle: str) -> list[Any]:
    account = Account.register(handle)
    return [account, HandleClaim(handle, account.id)]


def _follow(follower: UUID, followee: UUID) -> list[Any]:
    edge = Follow.between(follower, followee)
    edge.follow()
    return [edge]


def _space(host: UUID, kind: str, now: datetime, n: int) -> list[Any]:
    space = Space.create(host, f"Space {n} about {TOPICS[n % len(TOPICS)]}")
    if kind == "upcoming":
        space.schedule(host, now + timedelta(days=1, minutes=n % 10_000), now)
    else:
        space.launch(host)
        if kind == "ended":
            space.end(host)
    return [space]


TOPICS = ("music", "startups", "football", "books", "jazz", "politics", "cooking", "science",
          "crypto", "films", "gardening", "running", "poetry", "design", "history")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--scale", type=float, default=1.0, help="1 is the issue's size; 0.01 for CI")
    args = parser.parse_args()
    figures = load(args.database_url, Plan.at(args.scale))
    print(f"stored {figures['events']:,} events in {figures['seconds']:.1f} s "
          f"({figures['events_per_s']:,.0f} events/s)")


if __name__ == "__main__":
    main()
