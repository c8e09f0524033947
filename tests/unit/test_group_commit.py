"""Group commit: one batch, one save; commands in a batch see each other; a broken rule
fails its own command only."""

from __future__ import annotations

import threading

import pytest

from application.spaces import SpacesApplication
from domain.errors import NotFound, RuleBroken


@pytest.fixture
def app():
    application = SpacesApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"},
                                    group_commit=True, stage_limit=3)
    yield application
    application.close()


def held_committer(app):
    """Keeps the committer busy, so the next submissions gather into one batch."""
    release = threading.Event()
    app.submit(lambda: release.wait(5))
    return release


def test_commands_in_one_batch_see_each_others_decisions(app):
    host, *people = [app.register_account(h).id for h in ("host", "a", "b", "c")]
    space_id = app.create_space(host, "Show").id
    app.launch(space_id, host)
    saves = []
    save = app.save
    app.save = lambda *events: saves.append(len(events)) or save(*events)
    release = held_committer(app)
    futures = [app.submit(app.grant_speaker, space_id, host, p) for p in people]
    release.set()
    results = []
    for future in futures:
        try:
            results.append(future.result(5).position)
        except RuleBroken:
            results.append("full")
    assert results[2] == "full" and results[1] == results[0] + 1
    assert saves == [2]  # both grants in one save: the third saw two seats taken before it
    assert len(app.space(space_id).stage) == 3


def test_a_command_that_breaks_a_rule_fails_alone(app):
    host = app.register_account("host").id
    space_id = app.create_space(host, "Show").id
    release = held_committer(app)
    unknown = app.submit(app.launch, host, host)  # an account id is not a Space id
    launched = app.submit(app.launch, space_id, host)
    release.set()
    with pytest.raises(NotFound):
        unknown.result(5)
    assert launched.result(5).position == app.position()
    assert app.space(space_id).state == "live"


def test_a_taken_handle_in_a_batch_fails_only_the_second_registration(app):
    release = held_committer(app)
    first = app.submit(app.register_account, "ada")
    second = app.submit(app.register_account, "Ada")
    other = app.submit(app.register_account, "grace")
    release.set()
    assert first.result(5).id != other.result(5).id
    with pytest.raises(RuleBroken, match="taken"):
        second.result(5)
