"""On PostgreSQL views: every projection takes every kind of event with extreme values;
one that cannot apply an event stops there alone (each event's change in a savepoint of
the pipelined transaction), and recovers."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from application.spaces import SpacesApplication
from infrastructure.pg_views import PostgresViewDatabase
from tests.extreme_events import check_every_projection_takes_every_event, scenarios
from tests.projection_faults import check_a_stopped_projection_is_local_loud_and_recoverable


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
