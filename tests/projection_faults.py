"""A projection that cannot apply an event, on any views database: it stops there and the
others go on; an operator's decision lets it pass over; a rebuild honours the decision;
a restarted runner with a fixed handler needs none. Run by tests/unit (SQLite) and
tests/integration (PostgreSQL)."""

from __future__ import annotations

from typing import Any

from projections.faults import stopped_projections
from projections.runner import ProjectionRunner, all_projections, views_position
from projections.spaces import SpacesProjection

UNSTORABLE = "boom"


class Fragile(SpacesProjection):
    """The Spaces projection with a bug: one title it cannot store."""

    def process(self, event: Any, position: int, cursor: Any) -> None:
        if getattr(event, "title", None) == UNSTORABLE:
            raise ValueError("this title cannot be stored")
        super().process(event, position, cursor)


def with_fragile_spaces() -> list:
    return [Fragile() if isinstance(p, SpacesProjection) else p for p in all_projections()]


def space_ids(views: Any) -> set[str]:
    return {row["id"] for row in views.rows("SELECT id FROM spaces")}


def check_a_stopped_projection_is_local_loud_and_recoverable(app: Any, views: Any) -> None:
    host = app.register_account("host").id
    before_id = app.create_space(host, "Before").id
    bad_id = app.create_space(host, UNSTORABLE).id
    bad = app.position()
    after_id = app.create_space(host, "After").id
    app.launch(after_id, host)
    before, after = str(before_id), str(after_id)
    runner = ProjectionRunner(app, views, with_fragile_spaces(), batch_size=3)

    runner.catch_up()
    assert stopped_projections(views) == [
        {"projection": "spaces", "position": bad, "error": "ValueError: this title cannot be stored"}]
    assert space_ids(views) == {before}  # stopped at the event before
    assert views.row("SELECT id FROM accounts")["id"] == str(host)  # the others went on
    assert views_position(views) == app.position()
    app.launch(before_id, host)
    runner.catch_up()  # no retry on every batch: it stays where it stopped
    assert [f["position"] for f in stopped_projections(views)] == [bad]

    app.skip_event("spaces", bad, "cli:ops", "title the projection cannot store")
    runner.catch_up()
    runner.catch_up()
    assert stopped_projections(views) == []
    assert space_ids(views) == {before, after}
    assert views.row("SELECT state FROM spaces WHERE id = ?", (after,))["state"] == "live"

    runner.rebuild()  # the decision holds for every rebuild
    assert stopped_projections(views) == [] and space_ids(views) == {before, after}

    fixed = ProjectionRunner(app, views)  # a fixed handler, after a restart: no decision needed
    fixed.rebuild()
    assert space_ids(views) == {before, after, str(bad_id)}
