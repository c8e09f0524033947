"""Go-live and invitation notifications as a read model: the fan-out on SQLite, in small
batches so that every job crosses batch and shard edges."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from application.spaces import SpacesApplication
from domain.errors import InvalidInput, RuleBroken
from domain.notifications import NotificationMarks
from domain.people import Follow
from infrastructure.views import ViewDatabase
from projections.fanout import Notifier
from projections.notifications import NotificationQueries
from projections.runner import ProjectionRunner


@pytest.fixture
def app():
    application = SpacesApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield application
    application.close()


@pytest.fixture
def views():
    database = ViewDatabase(None)
    yield database
    database.close()


@pytest.fixture
def runner(app, views):
    return ProjectionRunner(app, views, batch_size=7)


@pytest.fixture
def notifier(views, runner):
    return Notifier(views, batch=5)  # the runner created the tables


def settle(runner, notifier) -> None:
    runner.catch_up()
    notifier.step()


def rows(views) -> list[tuple[str, int, str]]:
    return [(r["recipient_id"], r["position"], r["kind"]) for r in views.rows(
        "SELECT recipient_id, position, kind FROM notifications ORDER BY 1, 2")]


def people(app, count: int, prefix: str = "fan") -> list:
    return [app.register_account(f"{prefix}{i}").id for i in range(count)]


def upcoming(app, host) -> object:
    return app.create_space(host, "Later", scheduled_for=datetime.now(timezone.utc) + timedelta(days=1)).id


def test_the_switch_and_the_read_marks_on_their_aggregates():
    edge = Follow.between(uuid4(), uuid4())
    with pytest.raises(RuleBroken, match="follow it first"):
        edge.switch_go_live(False)
    edge.follow()
    edge.switch_go_live(False)
    edge.switch_go_live(False)
    edge.unfollow()
    edge.follow()
    assert edge.go_live is False  # kept across an unfollow and a new follow
    marks = NotificationMarks(uuid4())
    marks.mark_read(10, [12, 11, 5, 12])
    marks.mark_read(8, [])  # read already: nothing
    marks.mark_read(None, [9])
    read = [e for e in marks.collect_events() if type(e).__name__ == "NotificationsRead"]
    assert [(e.up_to, e.ids) for e in read] == [(10, [11, 12])]
    with pytest.raises(InvalidInput):
        marks.mark_read(None, [])
    with pytest.raises(InvalidInput, match="at most 100"):
        marks.mark_read(None, list(range(1, 102)))


def test_a_launch_notifies_every_follower_and_reminder_setter_exactly_once(app, views, runner, notifier):
    host = app.register_account("host").id
    followers, setters, both = people(app, 23), people(app, 6, "setter"), people(app, 4, "both")
    for fan in followers + both:
        app.follow(fan, host)
    space = upcoming(app, host)
    for person in setters + both:
        app.set_reminder(space, person)
    app.set_reminder(space, setters[0])  # twice: one reminder
    launched = app.launch(space, host).position
    runner.catch_up()
    assert not NotificationQueries(views).fanned_out(launched)
    assert notifier.step() > 16  # batches of 5 in 16 shards
    assert NotificationQueries(views).fanned_out(launched)
    counts = Counter(recipient for recipient, _, _ in rows(views))
    assert set(counts) == {str(p) for p in followers + setters + both}
    assert set(counts.values()) == {1}
    assert {kind for _, _, kind in rows(views)} == {"go_live"}
    before = rows(views)
    notifier.step()  # again: nothing more
    runner.catch_up()
    assert rows(views) == before


def test_switches_blocks_removals_and_late_follows_decide_who_hears(app, views, runner, notifier):
    host, quiet, quiet_reminded, blocked, removed, late, fan = people(app, 7, "p")
    for person in (quiet, quiet_reminded, blocked, removed, fan):
        app.follow(person, host)
    app.switch_go_live_notifications(quiet, host, False)
    app.switch_go_live_notifications(quiet_reminded, host, False)
    space = upcoming(app, host)
    app.set_reminder(space, quiet_reminded)  # asked for this one: told, switch or not
    app.set_reminder(space, removed)
    app.block(host, blocked)
    app.remove_user(space, host, removed)
    app.launch(space, host)
    app.follow(late, host)  # after the launch: not this one
    settle(runner, notifier)
    assert {r for r, _, _ in rows(views)} == {str(quiet_reminded), str(fan)}


def test_a_block_hides_what_the_host_sent_before_and_an_ended_space_says_so(app, views, runner, notifier):
    host, fan, other = people(app, 3, "p")
    app.follow(fan, host)
    app.follow(other, host)
    space = app.create_space(host, "Now").id
    app.launch(space, host)
    settle(runner, notifier)
    queries = NotificationQueries(views)
    assert [r["state"] for r in queries.page(str(fan), None, 10)] == ["live"]
    app.end(space, host)
    app.block(host, fan)
    settle(runner, notifier)
    assert queries.page(str(fan), None, 10) == [] and queries.unread(str(fan)) == 0
    assert [r["state"] for r in queries.page(str(other), None, 10)] == ["ended"]


def test_invitations_are_notifications_and_read_marks_hold(app, views, runner, notifier):
    host, guest = people(app, 2, "p")
    app.follow(guest, host)
    spaces = [app.create_space(host, f"Show {i}").id for i in range(3)]
    for space in spaces:
        app.launch(space, host)
    invited = app.invite(spaces[0], host, guest).position
    settle(runner, notifier)
    queries = NotificationQueries(views)
    page = queries.page(str(guest), None, 10)
    assert [r["kind"] for r in page] == ["invitation", "go_live", "go_live", "go_live"]
    assert page[0]["position"] == invited and queries.unread(str(guest)) == 4
    assert [r["position"] for r in queries.page(str(guest), page[1]["position"], 10)] == [
        r["position"] for r in page[2:]]
    app.mark_notifications_read(guest, page[2]["position"], (invited,))
    runner.catch_up()
    assert [bool(r["is_read"]) for r in queries.page(str(guest), None, 10)] == [True, False, True, True]
    assert queries.unread(str(guest)) == 1
    arrived = queries.arrived_after(str(guest), 0, 10)
    assert sorted(r["rseq"] for r in arrived) == [1, 2, 3, 4]
    assert queries.arrived_after(str(guest), 4, 10) == []


def test_a_rebuild_keeps_the_notifications_and_gives_the_same_read_marks(
        app, views, runner, notifier):
    host, *fans = people(app, 12, "p")
    for fan in fans:
        app.follow(fan, host)
    space = upcoming(app, host)
    app.set_reminder(space, fans[0])
    app.launch(space, host)
    app.invite(space, host, fans[1])
    settle(runner, notifier)
    app.mark_notifications_read(fans[1], None, (app.position(),))
    settle(runner, notifier)

    def seen():
        return [(r["recipient_id"], r["position"], bool(r["is_read"])) for r in views.rows(
            "SELECT n.recipient_id, n.position, (n.position <= COALESCE(w.up_to, 0) OR EXISTS ("
            "SELECT 1 FROM notification_read_ids i WHERE i.recipient_id = n.recipient_id AND "
            "i.position = n.position)) AS is_read FROM notifications n LEFT JOIN notification_reads "
            "w ON w.recipient_id = n.recipient_id ORDER BY 1, 2")]

    before = seen()
    assert len(before) == 12 and sum(read for _, _, read in before) == 1
    app.unfollow(fans[2], host)
    numbers = views.rows("SELECT recipient_id, position, rseq FROM notifications ORDER BY 1, 2")
    runner.rebuild()
    assert seen() == before  # also the unfollower's: what was delivered stays
    assert notifier.step() == 0  # the rebuilt jobs find theirs done
    assert views.rows("SELECT recipient_id, position, rseq FROM notifications ORDER BY 1, 2") \
        == numbers
