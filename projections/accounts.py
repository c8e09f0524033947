"""Handles of accounts, so views can name people."""

from __future__ import annotations

from typing import Any

from application.ports import Cursor
from domain.people import Account
from projections.base import Projection, handles, text


class AccountsProjection(Projection):
    name = "accounts"
    tables = ("accounts",)
    schema = ("CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, handle TEXT NOT NULL)",)

    @handles(Account.AccountRegistered)
    def registered(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            "INSERT INTO accounts (id, handle) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
            (text(event.originator_id), event.handle),
        )
