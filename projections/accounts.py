"""Handles of accounts, so views can name people."""

from __future__ import annotations

from typing import Any

from projections.base import Projection, handles, text


class AccountsProjection(Projection):
    name = "accounts"
    tables = ("accounts",)
    schema = ("CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, handle TEXT NOT NULL)",)

    @handles("spaces:AccountRegistered")
    def registered(self, event: Any, position: int, cursor: Any) -> None:
        cursor.execute(
            "INSERT INTO accounts (id, handle) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
            (text(event.originator_id), event.handle),
        )
