"""Reminders on upcoming Spaces: the rules on the aggregates, and through HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from domain.errors import InvalidInput, NotAllowed, RuleBroken, SpaceHasEnded
from domain.reminders import Reminder, reminder_id
from domain.space import Space
from tests.support import assert_problem, register

HOST, FAN = uuid4(), uuid4()
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def upcoming() -> Space:
    space = Space.create(HOST, "Later")
    space.schedule(HOST, NOW + timedelta(days=1), NOW)
    return space


def test_a_reminder_is_set_and_cleared_once_each_and_its_id_names_the_pair():
    reminder = Reminder(uuid4(), FAN)
    reminder.set()
    reminder.set()
    reminder.clear()
    reminder.clear()
    assert [type(e).__name__ for e in reminder.collect_events()] == [
        "ReminderCreated", "ReminderSet", "ReminderCleared"]
    assert reminder.id == reminder_id(reminder.space_id, FAN)


def test_only_upcoming_spaces_take_reminders_from_people_they_do_not_keep_out():
    space = upcoming()
    space.check_can_be_reminded(FAN, host_blocks_user=False)
    with pytest.raises(InvalidInput, match="You host"):
        space.check_can_be_reminded(HOST, host_blocks_user=False)
    with pytest.raises(NotAllowed, match="blocked"):
        space.check_can_be_reminded(FAN, host_blocks_user=True)
    with pytest.raises(RuleBroken, match="no scheduled start"):
        Space.create(HOST, "Unannounced").check_can_be_reminded(FAN, host_blocks_user=False)
    space.launch(HOST)
    with pytest.raises(RuleBroken, match="live already"):
        space.check_can_be_reminded(FAN, host_blocks_user=False)
    space.end(HOST)
    with pytest.raises(SpaceHasEnded):
        space.check_can_be_reminded(FAN, host_blocks_user=False)


def scheduled_space(client, host) -> str:
    soon = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    created = client.post("/v1/spaces", json={"title": "Soon", "scheduled_for": soon}, headers=host.auth)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def test_the_detail_counts_reminders_and_tells_the_caller_whether_they_set_one(client):
    host, ann, bob = (register(client, h) for h in ("host", "ann", "bob"))
    space = scheduled_space(client, host)
    url = f"/v1/spaces/{space}/reminders/me"
    for person in (ann, bob, ann):  # ann twice: one reminder
        assert client.put(url, headers=person.auth).status_code == 200
    done = client.delete(url, headers=bob.auth).json()
    view = client.get(f"/v1/spaces/{space}", params={"after": done["position"]}, headers=ann.auth).json()
    assert (view["reminder_count"], view["reminded"]) == (1, True)
    as_bob = client.get(f"/v1/spaces/{space}", headers=bob.auth).json()
    assert (as_bob["reminder_count"], as_bob["reminded"]) == (1, False)
    assert client.get(f"/v1/spaces/{space}").json()["reminded"] is None  # nobody signed in
    assert client.delete(url, headers=bob.auth).status_code == 200  # none set: nothing changes


def test_reminders_are_refused_on_spaces_that_are_not_upcoming_and_to_people_kept_out(client):
    host, fan, pest = (register(client, h) for h in ("host", "fan", "pest"))
    unannounced = client.post("/v1/spaces", json={"title": "Now"}, headers=host.auth).json()["id"]
    assert_problem(client.put(f"/v1/spaces/{unannounced}/reminders/me", headers=fan.auth), 409,
                   "no scheduled start")
    space = scheduled_space(client, host)
    url = f"/v1/spaces/{space}/reminders/me"
    assert_problem(client.put(url), 401)
    assert_problem(client.put(url, headers=host.auth), 422, "You host")
    client.put(f"/v1/accounts/{host.id}/blocked/{pest.id}", headers=host.auth)
    assert_problem(client.put(url, headers=pest.auth), 403, "blocked")
    assert_problem(client.put(f"/v1/spaces/{host.id}/reminders/me", headers=fan.auth), 404)
    client.post(f"/v1/spaces/{space}/launch", headers=host.auth)
    assert_problem(client.put(url, headers=fan.auth), 409, "live already")
    client.post(f"/v1/spaces/{space}/end", headers=host.auth)
    assert_problem(client.put(url, headers=fan.auth), 409, "ended")


def test_the_openapi_document_describes_reminders(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"put", "delete"} <= set(paths["/v1/spaces/{space_id}/reminders/me"])
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"reminder_count", "reminded"} <= set(schemas["SpaceView"]["properties"])
