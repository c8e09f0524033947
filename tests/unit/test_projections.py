"""Read models built from events: listing, feed, detail, inbox, moderation log, rebuild."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings

from application.spaces import SpacesApplication
from infrastructure.views import ViewDatabase
from projections.faults import stopped_projections
from projections.feed import feed
from projections.inbox import inbox
from projections.moderation import moderation_log
from projections.runner import ProjectionRunner
from projections.spaces import SpaceQueries
from tests.extreme_events import check_every_projection_takes_every_event, scenarios
from tests.feed_pages import check_feed_pages_hold_while_spaces_come_and_go
from tests.projection_faults import check_a_stopped_projection_is_local_loud_and_recoverable


@pytest.fixture
def app():
    application = SpacesApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield application
    application.close()


@pytest.fixture
def views():
    return ViewDatabase(None)


@pytest.fixture
def runner(app, views):
    return ProjectionRunner(app, views, batch_size=7)  # small batches cross batch edges


def ids(rows):
    return [row["id"] for row in rows]


def test_listing_shows_live_spaces_newest_first_and_drops_ended_ones(app, views, runner):
    host = app.register_account("host").id
    first, second, draft = (app.create_space(host, t).id for t in ("First", "Second", "Draft"))
    app.launch(first, host)
    app.launch(second, host)
    runner.catch_up()
    queries = SpaceQueries(views)
    assert ids(queries.live(10, None)) == [str(second), str(first)]
    page = queries.live(1, None)
    assert ids(queries.live(10, page[-1]["live_seq"])) == [str(first)]
    app.end(second, host)
    runner.catch_up()
    assert ids(queries.live(10, None)) == [str(first)]
    assert queries.space(str(second))["state"] == "ended"
    assert queries.space(str(draft))["state"] == "created"


def test_feed_shows_live_and_scheduled_spaces_of_people_you_follow(app, views, runner):
    host, other, fan = (app.register_account(h).id for h in ("host", "other", "fan"))
    app.follow(fan, host)
    live = app.create_space(host, "Live").id
    app.launch(live, host)
    later = app.create_space(host, "Later",
                             scheduled_for=datetime.now(timezone.utc) + timedelta(days=1)).id
    app.create_space(host, "Unannounced draft")
    not_followed = app.create_space(other, "Elsewhere").id
    app.launch(not_followed, other)
    runner.catch_up()
    assert ids(feed(views, str(fan), 10)) == [str(live), str(later)]
    app.end(live, host)
    app.unfollow(fan, host)
    runner.catch_up()
    assert feed(views, str(fan), 10) == []


def test_detail_tracks_the_stage_requests_and_switches(app, views, runner):
    host, guest, listener = (app.register_account(h).id for h in ("host", "guest", "listener"))
    space = app.create_space(host, "Show").id
    app.launch(space, host)
    app.invite(space, host, guest)
    app.accept_invitation(space, guest)
    app.unmute(space, guest, guest)
    app.request_to_speak(space, listener)
    app.switch(space, host, transcripts=True, recording=True)
    runner.catch_up()
    queries = SpaceQueries(views)
    row = queries.space(str(space))
    assert (row["transcripts"], row["recording"], row["speaker_count"]) == (1, 1, 2)
    assert row["host_handle"] == "host"
    assert [(s["handle"], s["muted"]) for s in queries.stage(str(space))] == [
        ("host", 1), ("guest", 0)]
    assert [r["handle"] for r in queries.speak_requests(str(space))] == ["listener"]
    app.mute_speaker(space, host, guest)
    app.revoke_speaker(space, host, guest)
    app.grant_speaker(space, host, listener)
    runner.catch_up()
    assert [s["handle"] for s in queries.stage(str(space))] == ["host", "listener"]
    assert queries.speak_requests(str(space)) == []


def test_detail_and_feed_follow_cohosts_the_pinned_link_and_a_handover(app, views, runner):
    host, ada, bob, fan = (app.register_account(h).id for h in ("host", "ada", "bob", "fan"))
    app.follow(fan, host)
    space = app.create_space(host, "Show").id
    app.launch(space, host)
    app.add_cohost(space, host, ada)
    app.add_cohost(space, host, bob)
    app.pin_link(space, ada, "https://example.com/notes", "Notes")
    runner.catch_up()
    queries = SpaceQueries(views)
    assert [c["handle"] for c in queries.cohosts(str(space))] == ["ada", "bob"]
    assert (queries.space(str(space))["pin_url"], queries.space(str(space))["pin_title"]) == (
        "https://example.com/notes", "Notes")
    assert [s["handle"] for s in queries.stage(str(space))] == ["host", "ada", "bob"]
    assert ids(feed(views, str(fan), 10)) == [str(space)]
    app.hand_over(space, host, ada)
    app.revoke_speaker(space, bob, bob)  # leaves the stage: a co-host no more
    app.unpin_link(space, host)
    runner.catch_up()
    row = queries.space(str(space))
    assert (row["host_id"], row["host_handle"], row["pin_url"]) == (str(ada), "ada", None)
    assert [c["handle"] for c in queries.cohosts(str(space))] == ["host"]
    assert ids(queries.live(10, None)) == [str(space)]
    assert feed(views, str(fan), 10) == []  # the fan follows the former host, not ada
    app.follow(fan, ada)
    runner.catch_up()
    assert ids(feed(views, str(fan), 10)) == [str(space)]


def test_the_inbox_holds_open_invitations_only(app, views, runner):
    host, guest = (app.register_account(h).id for h in ("host", "guest"))
    one, two = app.create_space(host, "One").id, app.create_space(host, "Two").id
    app.invite(one, host, guest)
    app.invite(two, host, guest)
    runner.catch_up()
    assert sorted(r["title"] for r in inbox(views, str(guest))) == ["One", "Two"]
    app.decline_invitation(one, guest)
    app.end(two, host)
    runner.catch_up()
    assert inbox(views, str(guest)) == []


def test_the_moderation_log_records_who_did_what_to_whom_in_order(app, views, runner):
    host, a, b = (app.register_account(h).id for h in ("host", "a", "b"))
    space = app.create_space(host, "Show").id
    app.launch(space, host)
    app.grant_speaker(space, host, a)
    app.unmute(space, a, a)
    app.mute_speaker(space, host, a)
    app.report_user(space, b, a, "rude")
    app.remove_user(space, host, a, "rude")
    app.block_from_space(space, host, b, "spam")
    runner.catch_up()
    log = moderation_log(views, space_id=None, user_id=None, since=None, after=None, limit=100)
    assert [(e["action"], e["actor_id"], e["target_id"]) for e in log] == [
        ("speaker_granted", str(host), str(a)),
        ("speaker_muted", str(host), str(a)),
        ("user_reported", str(b), str(a)),
        ("user_removed", str(host), str(a)),
        ("user_blocked", str(host), str(b)),
        ("account_blocked", str(host), str(b)),
    ]
    assert [e["position"] for e in log] == sorted(e["position"] for e in log)
    about_b = moderation_log(views, space_id=None, user_id=str(b), since=None, after=None, limit=100)
    assert [e["action"] for e in about_b] == ["user_reported", "user_blocked", "account_blocked"]
    page = moderation_log(views, space_id=str(space), user_id=None, since=None,
                          after=log[1]["position"], limit=2)
    assert [e["action"] for e in page] == ["user_reported", "user_removed"]


def dump(views) -> dict[str, list]:
    tables = [r["name"] for r in views.rows(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {t: views.rows(f"SELECT * FROM {t} ORDER BY 1, 2") for t in tables}


def test_a_rebuild_reproduces_the_same_views(app, views, runner):
    host, guest, fan = (app.register_account(h).id for h in ("host", "guest", "fan"))
    app.follow(fan, host)
    for title in ("One", "Two", "Three"):
        space = app.create_space(host, title).id
        app.launch(space, host)
        app.invite(space, host, guest)
    app.accept_invitation(space, guest)
    app.remove_user(space, host, fan, "spam")
    app.end(space, host)
    runner.catch_up()
    before = dump(views)
    done = []
    assert runner.rebuild(progress=done.append) == app.position()
    assert done[-1] == app.position()
    assert dump(views) == before


def test_processing_the_same_events_again_changes_nothing(app, views, runner):
    host = app.register_account("host").id
    space = app.create_space(host, "Show").id
    app.launch(space, host)
    runner.catch_up()
    before = dump(views)
    assert runner.catch_up() == 0
    assert dump(views) == before


def test_a_projection_that_cannot_apply_an_event_stops_there_and_the_others_go_on(app, views):
    check_a_stopped_projection_is_local_loud_and_recoverable(app, views)


def test_an_overflowing_time_stored_before_validation_projects_without_error(app, views, runner):
    host = app.register_account("host").id
    space_id = app.create_space(host, "Far").id
    space = app.space(space_id)
    far = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=23, minutes=59)))
    space._scheduled(scheduled_for=far)  # as the API stored it before times were validated
    app.save(space)
    runner.catch_up()
    assert stopped_projections(views) == []
    row = views.row("SELECT scheduled_for FROM spaces WHERE id = ?", (str(space_id),))
    assert row["scheduled_for"].startswith("9999-12-31T23:59:59")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios)
def test_every_projection_takes_every_event_with_extreme_values_on_sqlite(values):
    views = ViewDatabase(None)
    try:
        check_every_projection_takes_every_event(views, values)
    finally:
        views.close()


def test_feed_pages_of_a_reader_who_follows_many_match_the_join_and_hold_while_spaces_move(
        app, views, runner, monkeypatch):
    check_feed_pages_hold_while_spaces_come_and_go(app, views, runner.catch_up, monkeypatch)
