"""On PostgreSQL views: a projection that cannot apply an event stops there alone (each
event's change in a savepoint of the pipelined transaction), and recovers."""

from __future__ import annotations

from application.spaces import SpacesApplication
from infrastructure.pg_views import PostgresViewDatabase
from tests.projection_faults import check_a_stopped_projection_is_local_loud_and_recoverable


def test_a_projection_that_cannot_apply_an_event_stops_there_on_postgres(database_url):
    app = SpacesApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    views = PostgresViewDatabase(database_url)
    try:
        check_a_stopped_projection_is_local_loud_and_recoverable(app, views)
    finally:
        views.close()
        app.close()
