"""Handles of accounts, so views can name people."""

from __future__ import annotations

from typing import Any

from application.ports import Cursor
from domain.people import Account
from projections.base import Projection, handles, handles_in_bulk, insert_rows, text


class AccountsProjection(Projection):
    name = "accounts"
    tables = ("accounts",)
    schema = ("CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, handle TEXT NOT NULL)",)

    @handles(Account.AccountRegistered)
    def registered(self, event: Any, position: int, cursor: Cursor) -> None:
        self.registered_many([(event, position)], cursor)

    @handles_in_bulk(Account.AccountRegistered)
    def registered_many(self, events: list[tuple[Any, int]], cursor: Cursor) -> None:
        insert_rows(cursor, "accounts (id, handle)",
                    [(text(e.originator_id), e.handle) for e, _ in events],
                    "ON CONFLICT (id) DO NOTHING")
