"""The read-model database on PostgreSQL, with the interface of the SQLite one.

Projection SQL is written once with `?` placeholders; the cursor here translates them.
Reads bind client-side (ClientCursor), which lets `? IS NULL` work without declaring types.

Locks: every view transaction takes a shared advisory lock; a rebuild takes it
exclusively while it swaps its new views in, so workers pause for that part.
`serialize(cursor, name)` makes writers of one kind (the in-process runners of
several API processes) take turns.

A rebuild writes its new views in the schema `spaces_rebuild` (`beside`): its
transactions find the tables there first, so projections' SQL stays the same, while
readers and workers go on with the live views until `swap_in` moves the new tables in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from application.ports import Dialect

VIEWS_LOCK = 0x5350_4143  # "SPAC": held shared by view writers, exclusively by a rebuild
BESIDE = "spaces_rebuild"


class TranslatingCursor:
    def __init__(self, cursor: psycopg.Cursor):
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(sql.replace("?", "%s"), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._cursor.executemany(sql.replace("?", "%s"), rows)

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    @property
    def connection(self) -> psycopg.Connection:
        return self._cursor.connection


class PostgresViewDatabase:
    dialect: Dialect = "postgresql"

    def __init__(self, database_url: str, pool_size: int = 10):
        self.url = database_url
        self._local = threading.local()
        self.pool = ConnectionPool(
            database_url, min_size=1, max_size=pool_size, open=True,
            kwargs={"cursor_factory": psycopg.ClientCursor, "autocommit": False},
        )

    @contextmanager
    def transaction(self) -> Iterator[TranslatingCursor]:
        # Writes go out pipelined and bound server-side, so statements a connection runs
        # again and again (a projection's INSERT) are parsed and planned once.
        with self.pool.connection() as connection, connection.pipeline(), \
                connection.transaction():
            cursor = psycopg.Cursor(connection)
            if not getattr(self._local, "exclusive", False):
                cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", (VIEWS_LOCK,))
            if getattr(self._local, "beside", False):
                cursor.execute("SELECT set_config('search_path', %s || ', ' || "
                               "current_setting('search_path'), true)", (BESIDE,))
            yield TranslatingCursor(cursor)

    @staticmethod
    @contextmanager
    def savepoint(cursor: TranslatingCursor) -> Iterator[None]:
        """What runs inside is undone alone if it raises (a nested transaction)."""
        with cursor.connection.transaction():
            yield

    @staticmethod
    def serialize(cursor: TranslatingCursor, name: str) -> None:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (name,))

    @staticmethod
    def try_lock(cursor: TranslatingCursor, name: str) -> bool:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext(?))", (name,))
        return bool(cursor.fetchone()[0])

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Other writers wait while this thread's transactions run (they skip the shared lock)."""
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute("SELECT pg_advisory_lock(%s)", (VIEWS_LOCK,))
            self._local.exclusive = True
            try:
                yield
            finally:
                self._local.exclusive = False
                connection.execute("SELECT pg_advisory_unlock(%s)", (VIEWS_LOCK,))

    builds_beside = True

    @contextmanager
    def beside(self) -> Iterator[None]:
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {BESIDE} CASCADE")  # a rebuild that died
            connection.execute(f"CREATE SCHEMA {BESIDE}")
        self._local.beside = True
        try:
            yield
        finally:
            self._local.beside = False
            with psycopg.connect(self.url, autocommit=True) as connection:
                connection.execute(f"DROP SCHEMA IF EXISTS {BESIDE} CASCADE")

    @staticmethod
    def write_live(cursor: TranslatingCursor, tables: Sequence[str]) -> None:
        for table in tables:
            cursor.execute(f"DROP TABLE {BESIDE}.{table}")

    @staticmethod
    def swap_in(cursor: TranslatingCursor, tables: Sequence[str]) -> None:
        cursor.execute("SELECT (current_schemas(false))[2]")  # the views' own, after BESIDE
        (live,) = cursor.fetchone()
        for table in tables:
            cursor.execute(f"DROP TABLE IF EXISTS {live}.{table}")
            cursor.execute(f"ALTER TABLE {BESIDE}.{table} SET SCHEMA {live}")
        cursor.execute(f"DROP SCHEMA {BESIDE} CASCADE")

    def rows(self, sql: str, params: Sequence[Any] = (), prepare: bool = False) -> list[dict[str, Any]]:
        # One statement, one round trip: without autocommit psycopg would send BEGIN first
        # and the pool COMMIT after (a read costs three round trips instead of one).
        # Prepared, a statement binds its parameters server-side and is planned once per
        # connection (planning a feed page costs more than running it); the others bind
        # client-side, so that a parameter only compared with NULL needs no type.
        with self.pool.connection() as connection:
            connection.autocommit = True
            try:
                cursor = (psycopg.Cursor(connection, row_factory=dict_row) if prepare
                          else connection.cursor(row_factory=dict_row))
                return cursor.execute(sql.replace("?", "%s"), params, prepare=prepare or None).fetchall()
            finally:
                connection.autocommit = False

    def row(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def close(self) -> None:
        self.pool.close()
