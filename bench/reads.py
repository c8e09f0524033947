"""The read side at social-network scale, through HTTP: on bench/dataset.py's data set
(PostgreSQL), two API processes (`spaces serve --processes 2`) and a `spaces project`
worker, wrk with 32 connections reads, one row each: feeds of random readers, feeds of
readers who follow 5,000 hosts, listing pages (every page, at random), one Space's detail;
reads/s and p50 / p99, for the feed as it reads now and side by side with the plain
read-time join (`SPACES_FEED_READS=join`) in the same run. Then the celebrity (followed by
every account) launches: seconds until 1,000 sampled followers' feeds show it (the first,
p50, max). Then the rebuild of every read model (events/s): replaying the views, then
writing the notifications' rows, timed apart. Last, one `spaces project` worker against
two (Kafka, four partitions) on a tenth of the data set (bench/workers.py; --quick: on
its own 1/100 one): the views'
events/s of each, and their ratio (`workers_speedup`).

Run: .venv/bin/python bench/reads.py                 (the issue's data set: made once (~5 min),
                                                     kept in the database `bench_reads`; the
                                                     rebuild of ~2.4M events takes ~70 s more)
     .venv/bin/python bench/reads.py --quick         (a 1/100 data set, in a fresh database)
     .venv/bin/python bench/reads.py --json FILE     (the figures, under the issue's keys)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dataset  # noqa: E402
import workers  # noqa: E402
from harness import fresh_database, kept_database, run_wrk, services_env  # noqa: E402

from api.bootstrap import build  # noqa: E402
from domain.people import account_id_for  # noqa: E402
from infrastructure.jwt_tokens import AccessTokens  # noqa: E402
from infrastructure.settings import Settings  # noqa: E402
from infrastructure.tokens import Grants  # noqa: E402
from tests.support import BIN, Server, clean_env  # noqa: E402

SECRET = "bench"
KEPT = "bench_reads"
CONNECTIONS = 32
SAMPLED_FOLLOWERS = 1_000
READERS = 20_000  # feeds read at random: a reader read again within seconds is answered from memory
WARM_UP_SECONDS = 2

LUA = """
local requests = {}
init = function(args)
  for line in io.lines("%(file)s") do
    local token, path = line:match("([^\\t]*)\\t(.+)")
    local headers = {}
    if token ~= "" then headers["Authorization"] = "Bearer " .. token end
    requests[#requests + 1] = wrk.format("GET", path, headers)
  end
  math.randomseed(os.time() + %(seed)d)
end
request = function()
  return requests[math.random(#requests)]
end
"""


def tokens() -> AccessTokens:
    return AccessTokens(SECRET, 86_400)


@contextmanager
def data_set(admin: str, scale: float, keep: bool) -> Iterator[str]:
    """A database holding the data set with its views caught up: kept between runs (made
    or finished where it stopped) or a fresh one, dropped afterwards."""
    with kept_database(admin, KEPT) if keep else fresh_database(admin) as url:
        dataset.load(url, dataset.Plan.at(scale))
        yield url


def rebuild(url: str, where: Path) -> tuple[float, float]:
    """Seconds of what `spaces rebuild` does: replay every view, then write the rows of
    the notifications."""
    system = build(Settings(database_url=url, data_dir=where, secret=SECRET), workers=False)
    try:
        started = time.monotonic()
        system.projections.rebuild()
        replayed = time.monotonic()
        system.notifier.step()
        return replayed - started, time.monotonic() - replayed
    finally:
        system.close()


def spaces_command(url: str, where: Path, *args: str) -> float:
    """Runs `spaces ARGS` against the data set; returns its seconds."""
    started = time.monotonic()
    subprocess.run([str(BIN / "spaces"), *args, "--data-dir", str(where)], check=True,
                   env=clean_env({"SPACES_DATABASE_URL": url, "SPACES_SECRET": SECRET}))
    return time.monotonic() - started


def stored_events(url: str) -> int:
    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT max(notification_id) FROM spaces_events").fetchone()
    return int(row[0] or 0) if row else 0


def views_position(url: str) -> int:
    with psycopg.connect(url) as connection:
        try:
            row = connection.execute("SELECT min(position) FROM projection_positions").fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
    return int(row[0] or 0) if row else 0


class Requests:
    """The paths each row reads, with the token of the reader (none: anonymous)."""

    def __init__(self, plan: dataset.Plan, api: httpx.Client):
        rng = random.Random(7)
        issuer = tokens()
        regular = [i for i in range(200, plan.accounts) if i not in plan.heavy()]
        self.readers = [issuer.issue(str(account_id_for(plan.handle(i))), Grants.of("user"))
                        for i in rng.sample(regular, min(READERS, len(regular)))]
        self.heavy = [issuer.issue(str(account_id_for(plan.handle(i))), Grants.of("user"))
                      for i in plan.heavy()]
        self.pages, self.live = [], []
        cursor: int | None = None
        while True:  # every page of the listing, as a client would walk it
            page = api.get("/v1/spaces", params={"limit": 20} | (
                {"cursor": cursor} if cursor else {})).json()
            self.pages.append("/v1/spaces?limit=20" + (f"&cursor={cursor}" if cursor else ""))
            self.live += [s["id"] for s in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        self.celebrity = issuer.issue(str(account_id_for(dataset.CELEBRITY)), Grants.of("user"))
        others = [i for i in range(1, plan.accounts)]
        self.followers = [issuer.issue(str(account_id_for(plan.handle(i))), Grants.of("user"))
                          for i in rng.sample(others, min(SAMPLED_FOLLOWERS, len(others)))]

    def rows(self) -> dict[str, list[tuple[str, str]]]:
        return {
            "feed": [(t, "/v1/feed?limit=20") for t in self.readers],
            "heavy feed": [(t, "/v1/feed?limit=20") for t in self.heavy],
            "listing": [("", p) for p in self.pages],
            "space": [("", f"/v1/spaces/{s}") for s in self.live[:500]],
        }


def read_rows(base: str, requests: Requests, seconds: int, where: Path) -> dict[str, dict[str, float]]:
    figures = {}
    for n, (name, lines) in enumerate(requests.rows().items()):
        paths = where / f"{name.replace(' ', '_')}.tsv"
        paths.write_text("".join(f"{token}\t{path}\n" for token, path in lines))
        lua = where / f"{name.replace(' ', '_')}.lua"
        lua.write_text(LUA % {"file": paths, "seed": n})
        run_wrk(base, lua, WARM_UP_SECONDS, CONNECTIONS)  # connections made, plans cached
        figures[name] = run_wrk(base, lua, seconds, CONNECTIONS)
    return figures


class KeptAlive:
    """One HTTP/1.1 connection kept open, reading GETs back to back: httpx tops out at a
    few hundred requests a second on this machine, under what the API answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def to(cls, base: str) -> KeptAlive:
        address = httpx.URL(base)
        reader, writer = await asyncio.open_connection(address.host, address.port)
        return cls(reader, writer, f"{address.host}:{address.port}")

    async def get(self, path: str, token: str) -> bytes:
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n"
                          f"Authorization: Bearer {token}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
        return await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def celebrity_launch(base: str, url: str, requests: Requests) -> list[float]:
    """Seconds from the celebrity's launch (answered) until each sampled follower's feed
    shows it: every follower reads their feed, CONNECTIONS at a time, again until it does."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as web:
        auth = {"Authorization": f"Bearer {requests.celebrity}"}
        created = await web.post("/v1/spaces", json={"title": "The celebrity speaks"}, headers=auth)
        space = created.json()["id"]
        while views_position(url) < stored_events(url):  # the worker is up and caught up
            await asyncio.sleep(0.05)
        connections = [await KeptAlive.to(base) for _ in range(CONNECTIONS)]
        waiting = list(requests.followers)
        seen: list[float] = []
        answered = await web.post(f"/v1/spaces/{space}/launch", headers=auth)
        answered.raise_for_status()
        launched = time.monotonic()

        async def read(connection: KeptAlive) -> None:
            while waiting and time.monotonic() - launched < 30:
                token = waiting.pop()
                page = json.loads(await connection.get("/v1/feed?limit=1", token))
                if page["items"] and page["items"][0]["id"] == space:
                    seen.append(time.monotonic() - launched)
                else:
                    waiting.insert(0, token)  # read again after the others

        await asyncio.gather(*(read(c) for c in connections))
        for connection in connections:
            connection.close()
        await web.post(f"/v1/spaces/{space}/end", headers=auth)
        return sorted(seen) + [float("inf")] * len(waiting)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 1/100 data set, short rows")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    scale, seconds = (0.01, 3) if args.quick else (1.0, 10)
    admin = services_env()["SPACES_DATABASE_URL"]
    plan = dataset.Plan.at(scale)
    with data_set(admin, scale, keep=not args.quick) as url, \
            tempfile.TemporaryDirectory(prefix="bench-reads-") as tmp:
        where = Path(tmp)
        if views_position(url) < stored_events(url):
            print("views: catching up with the data set (spaces rebuild)", file=sys.stderr)
            spaces_command(url, where / "catch-up", "rebuild")
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("ANALYZE")  # as autovacuum would within a minute of the load
        print(f"{'row':<12}{'way':<8}{'reads/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}")
        results: dict[str, dict[str, dict[str, float]]] = {}
        for way in ("join", "now"):
            env = {"SPACES_DATABASE_URL": url, "SPACES_SECRET": SECRET,
                   **({"SPACES_FEED_READS": "join", "SPACES_READ_CACHE_SECONDS": "0"}
                      if way == "join" else {})}
            api = Server(where / f"api-{way}", env, ("--processes", "2", "--no-background-workers"))
            http = api.start()
            try:
                requests = Requests(plan, http)
                if way == "join":
                    results[way] = read_rows(api.url, requests, seconds, where)
                else:  # with a projection worker feeding the views, then the celebrity launches
                    with workers.spaces_process("project", env, where / "project"):
                        results[way] = read_rows(api.url, requests, seconds, where)
                        visible = asyncio.run(celebrity_launch(api.url, url, requests))
            finally:
                api.stop()
            for row, r in results[way].items():
                print(f"{row:<12}{way:<8}{r['requests_per_second']:>9.0f}{r['p50_ms']:>8.1f}"
                      f"{r['p99_ms']:>8.1f}{r['errors']:>7.0f}", flush=True)
        print(f"celebrity launch in {len(visible)} sampled feeds: first {visible[0]:.3f} s, "
              f"p50 {statistics.median(visible):.2f} s, max {visible[-1]:.2f} s")
        events = stored_events(url)
        replay_seconds, notifications_seconds = rebuild(url, where / "rebuild")
        print(f"rebuild of every read model: {events:,} events in {replay_seconds:.0f} s, "
              f"{events / replay_seconds:,.0f} events/s; then the notifications' rows in "
              f"{notifications_seconds:.0f} s")
    workers_scale = min(scale, 0.1)  # the whole data set's messages would take minutes a run
    print(f"projection workers: the data set at {workers_scale:g} of the issue's, relayed to Kafka",
          file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        rates = workers.views_events_per_second(admin, services_env()["SPACES_KAFKA_BOOTSTRAP"],
                                                SECRET, workers_scale, Path(tmp))
    print(f"views fed by one worker {rates[1]:,.0f} events/s, by two {rates[2]:,.0f} events/s: "
          f"{rates[2] / rates[1]:.2f}x")
    now = results["now"]
    figures = {
        "feed_reads_per_s": now["feed"]["requests_per_second"],
        "feed_p99_ms": now["feed"]["p99_ms"],
        "heavy_feed_p99_ms": now["heavy feed"]["p99_ms"],
        "listing_reads_per_s": now["listing"]["requests_per_second"],
        "listing_p99_ms": now["listing"]["p99_ms"],
        "join_feed_reads_per_s": results["join"]["feed"]["requests_per_second"],
        "join_heavy_feed_p99_ms": results["join"]["heavy feed"]["p99_ms"],
        "celebrity_visible_p50_s": statistics.median(visible),
        "celebrity_visible_max_s": visible[-1],
        "celebrity_visible_first_s": visible[0],
        "workers_speedup": rates[2] / rates[1],
        "one_worker_events_per_s": rates[1],
        "two_workers_events_per_s": rates[2],
        "rebuild_events_per_s": events / replay_seconds,
        "rebuild_notifications_s": notifications_seconds,
        "rebuild_with_notifications_events_per_s": events / (replay_seconds + notifications_seconds),
    }
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
