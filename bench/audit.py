"""Auditing on PostgreSQL, in one run: hash-chain verify and moderation export throughput
(events/s) on a generated history, and commands/s with and without the chain being
extended in the background (its write-path overhead), side by side.

Run: .venv/bin/python bench/audit.py [--spaces 4000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from harness import fresh_database, services_env

from api.bootstrap import build
from application.audit import moderation_history
from domain.space import Space
from infrastructure.settings import Settings


def history(app, spaces: int) -> int:
    host = app.register_account("host").id
    people = [app.register_account(f"p{i}").id for i in range(20)]
    for start in range(0, spaces, 100):
        batch = []
        for i in range(start, min(start + 100, spaces)):
            space = Space.create(host, f"S{i}")
            space.launch(host)
            space.grant_speaker(host, people[i % 20], user_is_blocked=False)
            space.report_user(people[(i + 1) % 20], people[i % 20], "noise", actor_is_blocked=False)
            space.remove_user(host, people[(i + 2) % 20], "spam")
            space.end(host)
            batch.append(space)
        app.save(*batch)
    return app.position()


def commands_per_second(system, seconds: float, threads: int = 8) -> float:
    app = system.app
    host = app.register_account(f"h{time.monotonic_ns()}").id
    reporter = app.register_account(f"r{time.monotonic_ns()}").id
    spaces = [app.create_space(host, f"W{i}").id for i in range(50)]
    for space in spaces:
        app.launch(space, host)
    done, stop = [0] * threads, time.monotonic() + seconds

    def work(n: int) -> None:
        i = n
        while time.monotonic() < stop:
            app.report_user(spaces[i % 50], reporter, host, "noise")
            done[n] += 1
            i += threads

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(done) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", type=int, default=4000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    env = services_env()
    with fresh_database(env["SPACES_DATABASE_URL"]) as url, tempfile.TemporaryDirectory() as tmp:
        system = build(Settings(database_url=url, data_dir=Path(tmp), secret="bench"), workers=False)
        events = history(system.app, args.spaces)
        started = time.perf_counter()
        system.chain.extend()
        chain_rate = events / (time.perf_counter() - started)
        started = time.perf_counter()
        verdict = system.chain.verify()
        verify_rate = verdict.checked / (time.perf_counter() - started)
        started = time.perf_counter()
        exported = sum(1 for _ in moderation_history(system.app))
        export_rate = exported / (time.perf_counter() - started)
        print(f"history: {events} events, {exported} of them moderation events")
        print(f"{'chain (extend)':<34}{chain_rate:>10,.0f} events/s")
        print(f"{'verify':<34}{verify_rate:>10,.0f} events/s   intact={verdict.intact}")
        print(f"{'export (moderation events)':<34}{export_rate:>10,.0f} events/s")
        without = commands_per_second(system, args.seconds)
        system.chain.start()
        with_chain = commands_per_second(system, args.seconds)
        system.chain.stop()
        print(f"{'commands/s without the chain':<34}{without:>10,.0f}")
        print(f"{'commands/s with the chain':<34}{with_chain:>10,.0f}   "
              f"({(with_chain / without - 1) * 100:+.0f} %)")
        system.close()


if __name__ == "__main__":
    main()
