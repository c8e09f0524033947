"""The search projection on SQLite: a host applied after their Space (Kafka partitions)
still finds it by handle; its FTS5 index survives rebuilds and restarts; web search words
always make a valid FTS5 query."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from application.spaces import SpacesApplication
from domain.people import Account
from infrastructure.views import ViewDatabase
from projections.runner import ProjectionRunner
from projections.search import fts5_query, search


def test_a_host_whose_account_is_applied_after_their_space_is_found_by_handle():
    app = SpacesApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    views = ViewDatabase(None)
    try:
        host = app.register_account("night_owl").id
        app.create_space(host, "Talk", scheduled_for=datetime.now(timezone.utc) + timedelta(days=1))
        runner = ProjectionRunner(app, views)
        events = [(n.id, app.event_of(n)) for n in app.notification_log.select(1, 10)]
        accounts_last = sorted(events, key=lambda e: isinstance(e[1], Account.AccountRegistered))
        with views.transaction() as cursor:
            for position, event in accounts_last:
                for projection in runner.projections:
                    projection.process(event, position, cursor)
        assert [r["title"] for r in search(views, "owl", None, 10, 0)] == ["Talk"]
    finally:
        views.close()
        app.close()


def test_after_a_rebuild_or_a_restart_each_space_is_found_once_and_ended_ones_not_at_all(tmp_path):
    views = ViewDatabase(str(tmp_path / "views.sqlite"))
    apps = [SpacesApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"}) for _ in range(2)]
    try:
        for app, titles in zip(apps, (("Jazz one", "Jazz two", "Jazz over"), ("Jazz one", "Blues two"))):
            host = app.register_account("host").id
            for title in titles:
                space = app.create_space(host, title).id
                app.launch(space, host)
                if title.endswith("over"):
                    app.end(space, host)
        runner = ProjectionRunner(apps[0], views)
        runner.catch_up()
        found = [r["title"] for r in search(views, "jazz", None, 10, 0)]
        assert sorted(found) == ["Jazz one", "Jazz two"]
        runner.rebuild()
        assert [r["title"] for r in search(views, "jazz", None, 10, 0)] == found
        ProjectionRunner(apps[0], views).catch_up()  # a process starting on the same views
        assert [r["title"] for r in search(views, "jazz", None, 10, 0)] == found
        # Rebuilt from other events, its rows (and the ids FTS5 knows them by) differ.
        ProjectionRunner(apps[1], views).rebuild()
        assert [r["title"] for r in search(views, "jazz", None, 10, 0)] == ["Jazz one"]
    finally:
        views.close()
        for app in apps:
            app.close()


def test_web_search_words_become_fts5_queries():
    assert fts5_query("jazz night") == '("jazz" "night")'
    assert fts5_query('"jazz history" -brunch or cook') == '("jazz history" NOT "brunch") OR ("cook")'
    assert fts5_query("or OR -x +++") is None
    assert fts5_query('NEAR(a b) AND "unclosed') == '("NEAR(a" "b)" "AND" "unclosed")'


@given(st.text(max_size=60))
def test_no_words_make_an_fts5_syntax_error(words):
    query = fts5_query(words)
    if query is not None:
        database = sqlite3.connect(":memory:")
        database.execute("CREATE VIRTUAL TABLE t USING fts5(title, tokenize = 'porter unicode61')")
        database.execute("SELECT * FROM t WHERE t MATCH ?", (query,)).fetchall()
