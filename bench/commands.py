"""Commands through HTTP against PostgreSQL (fsync on), side by side in one run:
(a) one save per request, (b) group commit, both with the projections in the API process;
(b) with the projections in a `spaces project` process fed from the event store; and (b)
with the relay and the projection worker as processes of their own (Kafka).

Each request is a real command (a report in one of many live Spaces, so each loads a
Space, checks its rules and the reporter's block status, and stores an event). After the
load, "views" says how long the read models took to include the last command.
Run: .venv/bin/python bench/commands.py [--seconds 10] [--connections 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx
from harness import fresh_database, run_wrk, running_server, services_env

from infrastructure.settings import Settings
from tests.integration.faults import Worker

LUA = """
local requests = {}
local i = 0
init = function(args)
  for line in io.lines("%(file)s") do
    local token, path, body = line:match("([^\\t]+)\\t([^\\t]+)\\t(.+)")
    requests[#requests + 1] = wrk.format("POST", path, {
      ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
  end
end
request = function()
  i = i %% #requests + 1
  return requests[i]
end
"""


def seed(url: str, people: int, spaces: int, out: Path) -> None:
    """Hosts create and launch Spaces; everyone reports someone in one of them."""
    with httpx.Client(base_url=url, timeout=30) as http:
        accounts = [http.post("/v1/accounts", json={"handle": f"u{i}"}).json() for i in range(people)]
        ids = []
        for i in range(spaces):
            host = accounts[i % people]
            auth = {"Authorization": f"Bearer {host['token']}"}
            space = http.post("/v1/spaces", json={"title": f"Space {i}"}, headers=auth).json()["id"]
            http.post(f"/v1/spaces/{space}/launch", headers=auth).raise_for_status()
            ids.append(space)
    with out.open("w") as lines:
        for i in range(len(ids) * 4):
            reporter, target = accounts[i % people], accounts[(i + 1) % people]
            body = json.dumps({"user_id": target["id"], "reason": "benchmark"})
            lines.write(f"{reporter['token']}\t/v1/spaces/{ids[i % len(ids)]}/reports\t{body}\n")


def measure(mode: str, views_fed_by: str, env: dict[str, str],
            args: argparse.Namespace) -> dict[str, float]:
    """`views_fed_by`: "api" (in the API process), "project" (a `spaces project` process
    reading the event store) or "kafka" (`spaces relay` and `spaces project` processes)."""
    with fresh_database(env["SPACES_DATABASE_URL"]) as url, tempfile.TemporaryDirectory() as tmp, \
            ExitStack() as workers:
        server_env = {"SPACES_DATABASE_URL": url, "SPACES_SECRET": "bench",
                      "SPACES_SIGNUP_BURST": "1000000",
                      "SPACES_WRITE_PATH": mode}
        if views_fed_by != "api":
            suffix = uuid.uuid4().hex[:8]
            kafka = views_fed_by == "kafka"
            settings = Settings(database_url=url, data_dir=Path(tmp) / "workers", secret="bench",
                                kafka_bootstrap=env["SPACES_KAFKA_BOOTSTRAP"] if kafka else None,
                                kafka_topic=f"bench.{suffix}", projection_group=f"bench-{suffix}")
            for command in ("relay", "project") if kafka else ("project",):
                workers.callback(Worker(command, settings, Path(tmp), command).stop)
            server_env["SPACES_RUN_WORKERS"] = "false"
            if kafka:
                server_env.update({"SPACES_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
                                   "SPACES_KAFKA_TOPIC": settings.kafka_topic})
        with running_server(Path(tmp) / "data", server_env) as server:
            http = server.start()
            requests, lua = Path(tmp) / "requests.tsv", Path(tmp) / "bench.lua"
            seed(server.url, args.people, args.spaces, requests)
            lua.write_text(LUA % {"file": requests})
            run_wrk(server.url, lua, 2, args.connections)  # warm up
            figures = run_wrk(server.url, lua, args.seconds, args.connections)
            figures["views_s"] = views_catch_up(http)
            http.close()
            return figures


def views_catch_up(http) -> float:
    """Seconds from the end of the load until the listing includes the last event."""
    started = time.perf_counter()
    metrics = http.get("/metrics").text
    position = int(float(re.search(r"^spaces_event_store_position (\S+)", metrics, re.M).group(1)))
    while http.get("/v1/spaces", params={"after": position}, timeout=30).status_code == 503:
        if time.perf_counter() - started > 120:
            raise SystemExit(f"the views did not reach position {position} within 120 s")
    return time.perf_counter() - started


PATHS = (
    ("plain", "api", "(a) one save per request"),
    ("grouped", "api", "(b) group commit"),
    ("grouped", "project", "(b) group commit, views fed by spaces project"),
    ("grouped", "kafka", "(b) group commit, relay + project via Kafka"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--spaces", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure every path this many times, taking turns; each row is "
                             "the round with the median commands/s (this machine's speed drifts)")
    args = parser.parse_args()
    env = services_env()
    runs: dict[str, list[dict[str, float]]] = {label: [] for *_, label in PATHS}
    for round_number in range(1, args.rounds + 1):
        for mode, views_fed_by, label in PATHS:
            runs[label].append(measure(mode, views_fed_by, env, args))
            print(f"round {round_number}/{args.rounds}: {label}: "
                  f"{runs[label][-1]['requests_per_second']:.0f} commands/s", file=sys.stderr)
    print(f"{'write path':<46}{'commands/s':>11}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}"
          f"{'views s':>8}{'rounds':>14}")
    for label, figures in runs.items():
        ordered = sorted(figures, key=lambda f: f["requests_per_second"])
        f = ordered[len(ordered) // 2]
        spread = f"{ordered[0]['requests_per_second']:.0f}–{ordered[-1]['requests_per_second']:.0f}"
        print(f"{label:<46}{f['requests_per_second']:>11.0f}{f['p50_ms']:>8.1f}"
              f"{f['p99_ms']:>8.1f}{f['errors']:>7.0f}{f['views_s']:>8.1f}{spread:>14}")


if __name__ == "__main__":
    main()
