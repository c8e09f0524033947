"""PostgreSQL's NOTIFY: another process stored events, so this process's followers of the
notification log wake at once, as a save here wakes them, instead of at their next poll."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import psycopg

from application.background import BackgroundThread

if TYPE_CHECKING:
    from application.command_application import CommandApplication

log = logging.getLogger(__name__)


class StoreNotifications(BackgroundThread):
    def __init__(self, app: CommandApplication, database_url: str):
        super().__init__("store-notifications")
        self.app = app
        self.database_url = database_url
        self.ready = False

    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                with psycopg.connect(self.database_url, autocommit=True) as connection:
                    connection.execute(f"LISTEN {self.app.recorder.channel_name}")  # type: ignore[attr-defined]
                    self.ready = True
                    while not self._stopped.is_set():
                        if any(True for _ in connection.notifies(timeout=1.0, stop_after=1)):
                            for listener in list(self.app.saved_listeners):
                                listener([])  # the events themselves are in the log
            except psycopg.Error as error:
                log.warning("not listening for stored events (%s); retrying", error)
                self._stopped.wait(1.0)
