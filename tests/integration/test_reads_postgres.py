"""The feed on PostgreSQL views: a reader who follows many hosts walks the Spaces and gets
the plain join's pages, which hold while Spaces launch and end between them."""

from __future__ import annotations

from api.bootstrap import build
from infrastructure.settings import Settings
from tests.feed_pages import check_feed_pages_hold_while_spaces_come_and_go


def test_feed_pages_on_postgres_match_the_join_and_hold_while_spaces_move(
        database_url, tmp_path, monkeypatch):
    system = build(Settings(database_url=database_url, data_dir=tmp_path, secret="s"),
                   workers=False)
    try:
        check_feed_pages_hold_while_spaces_come_and_go(
            system.app, system.views, system.projections.catch_up, monkeypatch)
    finally:
        system.close()
