"""The read-model database of the embedded default: one SQLite file, one connection per thread.

Projections write in transactions through `transaction()`; queries read through `rows()`.
SQL uses `?` placeholders and `ON CONFLICT` upserts, which PostgreSQL understands too
once the placeholders are translated.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import uuid4


class ViewDatabase:
    def __init__(self, path: str | None):
        """`path=None` keeps the views in memory, shared by this process's threads."""
        if path is None:
            self._target, self._uri = f"file:views-{uuid4().hex}?mode=memory&cache=shared", True
            self._keepalive = self._connect()  # a shared in-memory database lives while one connection does
        else:
            self._target, self._uri = path, False
        self._local = threading.local()
        self._write_lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._target, uri=self._uri, isolation_level=None, check_same_thread=False, timeout=10
        )
        connection.row_factory = sqlite3.Row
        if not self._uri:
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
    def serialize(cursor: sqlite3.Cursor, name: str) -> None:
        """Writers already take turns: every transaction here is BEGIN IMMEDIATE."""

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        yield

    def close(self) -> None:
        pass

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [dict(row) for row in self._connection.execute(sql, params).fetchall()]

    def row(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        found = self._connection.execute(sql, params).fetchone()
        return dict(found) if found else None
