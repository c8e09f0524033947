"""Every auditor read is itself recorded: who read what, when."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from application.ports import Views

SCHEMA = ("CREATE TABLE IF NOT EXISTS auditor_reads (id INTEGER PRIMARY KEY, at TEXT NOT NULL, "
          "auditor TEXT NOT NULL, what TEXT NOT NULL)")


def create_table(views: Views) -> None:
    with views.transaction() as cursor:
        cursor.execute(SCHEMA.replace("INTEGER PRIMARY KEY", _serial(views)))


def _serial(views: Views) -> str:
    return "BIGSERIAL PRIMARY KEY" if type(views).__name__.startswith("Postgres") else "INTEGER PRIMARY KEY"


def record_read(views: Views, auditor: str, what: str) -> None:
    with views.transaction() as cursor:
        cursor.execute("INSERT INTO auditor_reads (at, auditor, what) VALUES (?, ?, ?)",
                       (datetime.now(timezone.utc).isoformat(), auditor, what))


def reads(views: Views, after: int | None, limit: int) -> list[dict[str, Any]]:
    return views.rows(
        "SELECT id, at, auditor, what FROM auditor_reads WHERE (? IS NULL OR id > ?) "
        "ORDER BY id LIMIT ?", (after, after, limit))
