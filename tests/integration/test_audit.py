"""Auditors: replay, export, tamper evidence (SQLite and PostgreSQL), retention."""

from __future__ import annotations

import sqlite3
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from api.bootstrap import build
from application.audit import moderation_history, timeline
from application.retention import apply_retention
from domain.space import Space
from infrastructure import transcripts
from infrastructure.settings import Settings
from infrastructure.transcripts import TranscriptLines


@pytest.fixture
def sqlite_system(tmp_path):
    system = build(Settings(data_dir=tmp_path, secret="audit-secret"), workers=False)
    yield system
    system.close()


def test_replay_matches_what_happened_at_the_end_and_at_each_moment(sqlite_system):
    app = sqlite_system.app
    host, a, b, c = (app.register_account(h).id for h in ("host", "a", "b", "c"))
    space = app.create_space(host, "Court").id
    app.launch(space, host)
    app.grant_speaker(space, host, a)                      # v3
    app.unmute(space, a, a)                                # v4
    app.mute_speaker(space, host, a)                       # v5
    middle = datetime.now(timezone.utc)
    time.sleep(0.01)
    app.report_user(space, b, a, "shouting")               # v6
    app.remove_user(space, host, b, "spam")                # v7
    app.block_from_space(space, host, c, "abuse")          # v8
    app.revoke_speaker(space, host, a)                     # v9
    app.end(space, host)                                   # v10

    entries, end = timeline(app, space)
    assert [(e.version, e.action, e.actor, e.target, e.reason) for e in entries[2:9]] == [
        (3, "speaker_granted", str(host), str(a), None),
        (4, "speaker_unmuted", str(a), str(a), None),
        (5, "speaker_muted", str(host), str(a), None),
        (6, "user_reported", str(b), str(a), "shouting"),
        (7, "user_removed", str(host), str(b), "spam"),
        (8, "user_blocked", str(host), str(c), "abuse"),
        (9, "speaker_revoked", str(host), str(a), None),
    ]
    assert (end.state, end.on_stage, end.removed, end.blocked) == (
        "ended", {str(host): True}, [str(b)], [str(c)])

    _, at_five = timeline(app, space, version=5)
    assert at_five.on_stage == {str(host): True, str(a): True} and at_five.removed == []
    _, at_middle = timeline(app, space, at=middle)
    assert at_middle.version == 5 and at_middle.blocked == []
    app.unblock(host, c)
    assert timeline(app, space)[1].blocked == [str(c)]  # as of the Space's last event
    assert timeline(app, space, at=datetime.now(timezone.utc))[1].blocked == []  # as of now


def test_export_streams_a_large_history_in_bounded_memory(sqlite_system):
    app = sqlite_system.app
    host = app.register_account("host").id
    people = [app.register_account(f"p{i}").id for i in range(50)]
    for round_ in range(40):
        spaces = [Space.create(host, f"S{round_}-{i}") for i in range(25)]
        for space in spaces:
            space.launch(host)
            for person in people[:10]:
                space.report_user(person, host, "noise", actor_is_blocked=False)
        app.save(*spaces)
    tracemalloc.start()
    count = sum(1 for _ in moderation_history(app))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 40 * 25 * 10
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MiB for {count} events"


def chained(system):
    app = system.app
    host, a = app.register_account("host").id, app.register_account("a").id
    for i in range(5):
        space = app.create_space(host, f"S{i}").id
        app.launch(space, host)
        app.remove_user(space, host, a, "spam")
    assert system.chain.extend() == app.position()
    verdict = system.chain.verify()
    assert verdict.intact and verdict.checked == app.position() and verdict.unchained == 0
    return app.position()


class SQLiteStore:
    def __init__(self, path: Path):
        self.db = sqlite3.connect(path, isolation_level=None)

    def alter(self, position):
        self.db.execute("UPDATE stored_events SET state = CAST('{\"x\":1}' AS BLOB) WHERE rowid = ?", (position,))

    def delete(self, position):
        self.db.execute("DELETE FROM stored_events WHERE rowid = ?", (position,))

    def swap(self, one, two):
        a, b = (self.db.execute("SELECT state FROM stored_events WHERE rowid = ?", (p,)).fetchone()[0]
                for p in (one, two))
        self.db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (b, one))
        self.db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (a, two))


class PostgresStore:
    def __init__(self, url: str):
        self.db = psycopg.connect(url, autocommit=True)

    def alter(self, position):
        self.db.execute("UPDATE spaces_events SET state = '{\"x\":1}'::bytea WHERE notification_id = %s", (position,))

    def delete(self, position):
        self.db.execute("DELETE FROM spaces_events WHERE notification_id = %s", (position,))

    def swap(self, one, two):
        a, b = (self.db.execute("SELECT state FROM spaces_events WHERE notification_id = %s", (p,)).fetchone()[0]
                for p in (one, two))
        self.db.execute("UPDATE spaces_events SET state = %s WHERE notification_id = %s", (b, one))
        self.db.execute("UPDATE spaces_events SET state = %s WHERE notification_id = %s", (a, two))


def check_tampering(system, store) -> None:
    last = chained(system)
    store.swap(9, 12)
    verdict = system.chain.verify()
    assert not verdict.intact and verdict.broken_at == 9
    store.swap(9, 12)
    assert system.chain.verify().intact  # put back: intact again
    store.alter(7)
    assert system.chain.verify().broken_at == 7
    store.delete(4)
    verdict = system.chain.verify()
    assert verdict.broken_at == 4 and "missing" in verdict.problem
    assert last > 12


def test_verify_names_the_position_an_event_was_altered_deleted_or_moved_on_sqlite(sqlite_system, tmp_path):
    check_tampering(sqlite_system, SQLiteStore(tmp_path / "events.sqlite"))


def test_verify_names_the_position_an_event_was_altered_deleted_or_moved_on_postgres(database_url, tmp_path):
    system = build(Settings(database_url=database_url, data_dir=tmp_path, secret="audit-secret"),
                   workers=False)
    try:
        check_tampering(system, PostgresStore(database_url))
    finally:
        system.close()


def test_a_forged_chain_needs_the_secret(sqlite_system, tmp_path):
    chained(sqlite_system)
    other = build(Settings(data_dir=tmp_path, secret="another-secret"), workers=False)
    try:
        assert other.chain.verify().broken_at == 1
    finally:
        other.close()


def test_retention_deletes_only_old_recordings_and_transcripts_of_ended_spaces(sqlite_system, tmp_path):
    app, views = sqlite_system.app, sqlite_system.views
    transcripts.create_table(views)
    host = app.register_account("host").id
    recordings = tmp_path / "recordings"
    spaces = {}
    for name in ("old", "recent", "live", "old_unrecorded"):
        space = app.create_space(host, name).id
        app.launch(space, host)
        if name != "live":
            app.end(space, host)
        if name != "old_unrecorded":
            (recordings / str(space)).mkdir(parents=True)
            (recordings / str(space) / "segment-000000.ogg").write_bytes(b"OggS")
        transcripts.store_line(views, str(space), {"line_id": "l1", "speaker_id": str(host),
                                                   "start": 0.0, "end": 1.0, "text": "hello"})
        spaces[name] = space
    later = datetime.now(timezone.utc) + timedelta(days=31)
    # "recent" ended just now too: pretend it ended later by keeping 31 days for it
    deleted = apply_retention(app, recordings, keep_days=30, now=later, transcripts=TranscriptLines(views))
    assert set(deleted) == {str(spaces[n]) for n in ("old", "recent", "old_unrecorded")}
    assert not (recordings / str(spaces["old"])).exists()
    assert (recordings / str(spaces["live"])).exists()
    assert transcripts.lines(views, str(spaces["old"])) == []
    assert len(transcripts.lines(views, str(spaces["live"]))) == 1
    history = [type(e).__name__ for e in app.space_history(spaces["old"])]
    assert history[-2:] == ["RecordingDeleted", "TranscriptDeleted"]
    assert "SpaceEnded" in history  # nothing else touched: events are never deleted
    unrecorded = [type(e).__name__ for e in app.space_history(spaces["old_unrecorded"])]
    assert unrecorded[-1] == "TranscriptDeleted" and "RecordingDeleted" not in unrecorded
    assert apply_retention(app, recordings, keep_days=30, now=later, transcripts=TranscriptLines(views)) == []
    assert apply_retention(app, recordings, keep_days=0, transcripts=TranscriptLines(views)) == []  # live Spaces keep theirs
