"""The read-model database of the embedded default: one SQLite file, one connection per thread.

Projections write in transactions through `transaction()`; queries read through `rows()`.
SQL uses `?` placeholders and `ON CONFLICT` upserts, which PostgreSQL understands too
once the placeholders are translated.
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from application.ports import Dialect


class ViewDatabase:
    dialect: Dialect = "sqlite"

    def __init__(self, path: str | None):
        """`path=None`: views that are not kept (a temporary file, removed on close; unlike
        SQLite's shared in-memory databases, it lets readers wait for writers)."""
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        if path is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="spaces-views-")
            path = str(Path(self._temporary.name) / "views.sqlite")
        self._target = path
        self._local = threading.local()
        self._write_lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._target, isolation_level=None, check_same_thread=False,
                                     timeout=10)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    @property
    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._connect()
        return connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        with self._write_lock:
            cursor = self._connection.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

    @staticmethod
    @contextmanager
    def savepoint(cursor: sqlite3.Cursor) -> Iterator[None]:
        """What runs inside is undone alone if it raises."""
        cursor.execute("SAVEPOINT one_event")
        try:
            yield
        except BaseException:
            cursor.execute("ROLLBACK TO SAVEPOINT one_event")
            cursor.execute("RELEASE SAVEPOINT one_event")
            raise
        cursor.execute("RELEASE SAVEPOINT one_event")

    @staticmethod
    def serialize(cursor: sqlite3.Cursor, name: str) -> None:
        """Writers already take turns: every transaction here is BEGIN IMMEDIATE."""

    @staticmethod
    def try_lock(cursor: sqlite3.Cursor, name: str) -> bool:
        """One transaction at a time holds them all (BEGIN IMMEDIATE)."""
        return True

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        yield

    builds_beside = False  # one writer at a time: a rebuild replays in place

    def beside(self) -> AbstractContextManager[None]:
        raise NotImplementedError("SQLite views are rebuilt in place.")

    @staticmethod
    def write_live(cursor: sqlite3.Cursor, tables: Sequence[str]) -> None:
        raise NotImplementedError("SQLite views are rebuilt in place.")

    @staticmethod
    def swap_in(cursor: sqlite3.Cursor, tables: Sequence[str]) -> None:
        raise NotImplementedError("SQLite views are rebuilt in place.")

    def close(self) -> None:
        if self._temporary is not None:
            self._temporary.cleanup()

    def rows(self, sql: str, params: Sequence[Any] = (), prepare: bool = False) -> list[dict[str, Any]]:
        return [dict(row) for row in self._connection.execute(sql, params).fetchall()]

    def row(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        found = self._connection.execute(sql, params).fetchone()
        return dict(found) if found else None
