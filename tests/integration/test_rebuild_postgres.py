"""A rebuild on PostgreSQL writes new views beside the live ones and swaps them in: readers
see the old views until then, commands that run meanwhile end up in the new ones, and
listener counts (not events) survive."""

from __future__ import annotations

import threading
from typing import Any

from api.bootstrap import build
from infrastructure.pg_views import PostgresViewDatabase
from infrastructure.settings import Settings
from projections.presence import PresenceWriter
from projections.runner import ProjectionRunner, views_position
from projections.spaces import SpaceQueries
from tests.support import new_database


def dump(views: Any, runner: ProjectionRunner) -> dict[str, list[dict[str, Any]]]:
    return {t: views.rows(f"SELECT * FROM {t} ORDER BY 1, 2")
            for p in runner.projections for t in p.tables}


def in_thread(work: Any) -> None:
    """`work` in a thread of its own (the rebuild's thread writes beside the views)."""
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


def test_a_rebuild_beside_the_views_swaps_in_what_readers_did_not_see_half_of(
        database_url, servers, tmp_path):
    system = build(Settings(database_url=database_url, data_dir=tmp_path, secret="s"),
                   workers=False)
    app, views, runner = system.app, system.views, system.projections
    try:
        host, fan = (app.register_account(h).id for h in ("host", "fan"))
        app.follow(fan, host)
        spaces = []
        for title in ("One", "Two", "Three", "Four"):
            spaces.append(app.create_space(host, title).id)
            app.launch(spaces[-1], host)
        app.end(spaces[0], host)
        runner.catch_up()
        live = SpaceQueries(views)
        PresenceWriter(views, "node-a").record(str(spaces[2]), 3, "joined", "s1", None)
        before = dump(views, runner)
        seen: list[dict[str, Any]] = []

        def meanwhile(done: int) -> None:
            if seen:
                return
            # half-way through the rebuild: readers see the old views, whole
            seen.append(dump(views, runner))
            later = app.create_space(host, "Later").id
            app.launch(later, host)
            app.end(spaces[1], host)
            in_thread(runner.catch_up)  # the live views take the commands meanwhile
            seen.append({"later": live.space(str(later)), "ended": live.space(str(spaces[1]))})

        assert runner.rebuild(progress=meanwhile) == app.position()
        assert seen[0] == before
        assert seen[1]["later"]["state"] == "live" and seen[1]["ended"]["state"] == "ended"
        assert views.rows("SELECT nspname FROM pg_namespace WHERE nspname = 'spaces_rebuild'") == []
        runner.catch_up()
        assert views_position(views) == app.position()
        assert live.space(str(spaces[2]))["listener_count"] == 3

        with new_database(servers["SPACES_DATABASE_URL"]) as other:
            replayed = PostgresViewDatabase(other)
            try:
                plain = ProjectionRunner(app, replayed)
                plain.catch_up()
                assert dump(views, runner) == dump(replayed, plain)
            finally:
                replayed.close()
    finally:
        system.close()
