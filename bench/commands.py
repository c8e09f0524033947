"""Commands through HTTP against PostgreSQL (fsync on), side by side in one run:
(a) one save per request, (b) the group-commit write path, in one and in two processes.

Each request is a real command (a report in one of many live Spaces, so each loads a
Space, checks its rules and the reporter's block status, and stores an event).
Run: .venv/bin/python bench/commands.py [--seconds 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import httpx

from harness import fresh_database, run_wrk, running_server, services_env

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


def measure(mode: str, processes: int, env: dict[str, str],
            args: argparse.Namespace) -> dict[str, float]:
    with fresh_database(env["SPACES_DATABASE_URL"]) as url, tempfile.TemporaryDirectory() as tmp:
        server_env = {"SPACES_DATABASE_URL": url, "SPACES_SECRET": "bench",
                      "SPACES_WRITE_PATH": mode, "SPACES_PROCESSES": str(processes)}
        with running_server(Path(tmp) / "data", server_env) as server:
            http = server.start()
            requests, lua = Path(tmp) / "requests.tsv", Path(tmp) / "bench.lua"
            seed(server.url, args.people, args.spaces, requests)
            lua.write_text(LUA % {"file": requests})
            run_wrk(server.url, lua, 2, args.connections)  # warm up
            figures = run_wrk(server.url, lua, args.seconds, args.connections)
            http.close()
            return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--spaces", type=int, default=500)
    args = parser.parse_args()
    env = services_env()
    print(f"{'write path':<28}{'commands/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for mode, processes, label in (
        ("plain", 1, "(a) one save per request"),
        ("grouped", 1, "(b) group commit"),
        ("grouped", 2, "(b) group commit, 2 procs"),
    ):
        f = measure(mode, processes, env, args)
        print(f"{label:<28}{f['requests_per_second']:>12.0f}{f['p50_ms']:>10.1f}"
              f"{f['p99_ms']:>10.1f}{f['errors']:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
