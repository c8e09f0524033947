"""How commands run (application/command_application.py), alone and in group-commit
batches: a command that loses a race to another process runs again on fresh state, and
every Outcome names the position of the command's own last event."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from application.spaces import SpacesApplication
from domain.errors import RuleBroken
from domain.people import account_id_for, block_id, handle_claim_id
from infrastructure.event_store import event_store_env
from infrastructure.settings import Settings


@pytest.fixture(params=["plain", "grouped"])
def here(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[SpacesApplication]:
    """This process: one save per command, or group commit."""
    application = SpacesApplication(_sqlite(tmp_path), stage_limit=3,
                                    group_commit=request.param == "grouped")
    yield application
    application.close()


@pytest.fixture
def elsewhere(tmp_path: Path) -> Iterator[SpacesApplication]:
    """Another process on the same store, whose events `here` does not follow."""
    application = SpacesApplication(_sqlite(tmp_path), stage_limit=3)
    yield application
    application.close()


def _sqlite(tmp_path: Path) -> dict[str, str]:
    return event_store_env(Settings(event_store="sqlite", data_dir=tmp_path))


def _accounts(app: SpacesApplication, *handles: str) -> list[UUID]:
    return [app.register_account(handle).id for handle in handles]


def test_a_command_that_lost_a_race_runs_again_on_the_latest_space(here, elsewhere):
    host, first, second, third = _accounts(here, "host", "first", "second", "third")
    space_id = here.create_space(host, "Race").id
    here.launch(space_id, host)  # this process caches the Space
    elsewhere.grant_speaker(space_id, host, first)  # unseen here
    granted = here.grant_speaker(space_id, host, second)  # conflicts, then runs again
    assert (granted.id, granted.position) == (space_id, here.position())
    assert len(here.space(space_id).stage) == 3
    with pytest.raises(RuleBroken):
        elsewhere.grant_speaker(space_id, host, third)  # its Space is behind: conflict, full


def test_a_handle_taken_elsewhere_since_it_was_last_looked_at_is_taken(here, elsewhere):
    for unseen in (account_id_for("ada"), handle_claim_id("ada")):
        here.cache.keep_absent(unseen)  # as if this process had looked before
    elsewhere.register_account("ada")
    with pytest.raises(RuleBroken, match="taken"):
        here.register_account("Ada")  # the store's unique key settles it


def test_each_outcome_in_a_batch_is_the_position_of_its_own_last_event(tmp_path):
    app = SpacesApplication(_sqlite(tmp_path), group_commit=True)
    try:
        host, *people = _accounts(app, "host", "a", "b", "c")
        space_id = app.create_space(host, "Show").id
        app.launch(space_id, host)
        release = threading.Event()
        app.submit(lambda: release.wait(5))  # the blocks below gather into one batch
        futures = [app.submit(app.block_from_space, space_id, host, p) for p in people]
        release.set()
        outcomes = [future.result(5) for future in futures]
        stored = app.recorder.select_notifications(1, 100)
        for person, outcome in zip(people, outcomes):
            # block_from_space saves the Space, then the block edge: the edge's is the last
            edge = [n.id for n in stored if n.originator_id == block_id(host, person)]
            assert (outcome.id, outcome.position) == (space_id, max(edge))
        assert outcomes[-1].position == app.position()
    finally:
        app.close()


def test_a_command_on_the_committer_cannot_wait_for_another(tmp_path):
    app = SpacesApplication(_sqlite(tmp_path), group_commit=True)
    try:
        host = app.register_account("host").id
        space_id = app.create_space(host, "Show").id
        nested = app.submit(lambda: app.launch(space_id, host))
        with pytest.raises(RuntimeError, match="cannot wait"):
            nested.result(5)  # rather than waiting for ever
        assert app.space(space_id).state != "live"
    finally:
        app.close()
