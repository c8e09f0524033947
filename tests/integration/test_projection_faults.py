"""On PostgreSQL views (and through Kafka): every projection takes every kind of event with extreme values;
one that cannot apply an event stops there alone (each event's change in a savepoint of
the pipelined transaction), and recovers."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from api.bootstrap import build
from application.spaces import SpacesApplication
from infrastructure.kafka_projection_worker import ProjectionWorker
from infrastructure.pg_views import PostgresViewDatabase
from projections.faults import stopped_projections
from tests.extreme_events import check_every_projection_takes_every_event, scenarios
from tests.integration.faults import eventually
from tests.projection_faults import (
    UNSTORABLE,
    check_a_stopped_projection_is_local_loud_and_recoverable,
    with_fragile_spaces,
)


def test_a_projection_that_cannot_apply_an_event_stops_there_on_postgres(database_url):
    app = SpacesApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    views = PostgresViewDatabase(database_url)
    try:
        check_a_stopped_projection_is_local_loud_and_recoverable(app, views)
    finally:
        views.close()
        app.close()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(scenarios)
def test_every_projection_takes_every_event_with_extreme_values_on_postgres(database_url, values):
    views = PostgresViewDatabase(database_url)
    try:
        check_every_projection_takes_every_event(views, values)
    finally:
        views.close()


def test_through_kafka_a_projection_that_cannot_apply_an_event_stops_until_a_rebuild(
        kafka_settings):
    system = build(kafka_settings)
    worker = next(w for w in system.background if isinstance(w, ProjectionWorker))
    worker.projections = with_fragile_spaces()
    system.start()
    try:
        app = system.app
        host = app.register_account("host").id
        bad_id = app.create_space(host, UNSTORABLE).id
        bad = app.position()
        after_id = app.create_space(host, "After").id
        app.launch(after_id, host)
        assert system.progress.wait_for(app.position(), timeout=60)
        assert [(f["projection"], f["position"]) for f in stopped_projections(system.views)] == [
            ("spaces", bad)]
        assert system.views.row("SELECT id FROM accounts")["id"] == str(host)  # the others go on
        assert system.views.row("SELECT id FROM spaces WHERE id = ?", (str(bad_id),)) is None

        app.skip_event("spaces", bad, "cli:ops", "title the projection cannot store")
        system.projections.rebuild()  # the operator's next step with Kafka
        assert stopped_projections(system.views) == []
        later = app.create_space(host, "Later").id
        assert system.progress.wait_for(app.position(), timeout=60)
        assert eventually(lambda: system.views.row(
            "SELECT id FROM spaces WHERE id = ?", (str(later),)) is not None, timeout=30)
    finally:
        system.close()
