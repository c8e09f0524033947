"""The aggregate cache: copies out, newer versions noticed, absent ids remembered safely."""

from __future__ import annotations

from types import SimpleNamespace
from uuid import uuid4

from application.aggregate_cache import ABSENT, AggregateCache
from domain.space import Space


def launched_space() -> Space:
    space = Space.create(uuid4(), "Show")
    space.launch(space.host_id)
    space.collect_events()
    return space


def stored(aggregate_id, version):
    return SimpleNamespace(originator_id=aggregate_id, originator_version=version)


def test_commands_get_copies_so_a_failed_command_leaves_the_cache_as_it_was():
    cache, space = AggregateCache(), launched_space()
    cache.keep([space])
    mine, behind = cache.get(space.id)
    mine.stage.append(uuid4())
    assert not behind and cache.get(space.id)[0].stage == space.stage


def test_an_event_stored_elsewhere_marks_the_cached_aggregate_behind():
    cache, space = AggregateCache(), launched_space()
    cache.keep([space])
    cache.follow([stored(space.id, space.version)])  # this process's own save
    assert cache.get(space.id)[1] is False
    cache.follow([stored(space.id, space.version + 1)])
    assert cache.get(space.id)[1] is True


def test_an_older_load_never_replaces_a_newer_aggregate():
    cache, space = AggregateCache(), launched_space()
    older = launched_space()
    older._id = space.id
    space.end(space.host_id)
    space.collect_events()
    cache.keep([space])
    cache.keep([older])
    assert cache.get(space.id)[0].state == "ended"


def test_absent_ids_are_remembered_until_something_is_stored_under_them():
    cache, edge_id = AggregateCache(), uuid4()
    cache.keep_absent(edge_id)
    assert cache.get(edge_id) == (ABSENT, False)
    cache.follow([stored(edge_id, 1)])
    assert cache.get(edge_id) == (None, False)


def test_an_id_stored_while_it_was_being_looked_up_is_not_remembered_as_absent():
    cache, edge_id = AggregateCache(), uuid4()
    cache.follow([stored(edge_id, 1)])  # the follower saw it before the miss came back
    cache.keep_absent(edge_id)
    assert cache.get(edge_id) == (None, False)


def test_a_conflict_marks_the_aggregate_behind_and_forgets_an_absent_id():
    cache, space, edge_id = AggregateCache(), launched_space(), uuid4()
    cache.keep([space])
    cache.keep_absent(edge_id)
    cache.conflicted([space.id, edge_id])
    assert cache.get(space.id)[1] is True
    assert cache.get(edge_id) == (None, False)
