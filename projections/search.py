"""Search over the titles and host handles of live and upcoming Spaces, ranked.

One row per Space that has not ended (`space_search`), with its host's handle; an ended
Space's row goes. The projection keeps its own copy of the handles (`search_hosts`): with
Kafka a host's account may be applied after their Space (another partition), and then
fills the handle in. The index is spelled per database: on PostgreSQL a `tsvector` of
both, generated, under a GIN index (`websearch_to_tsquery`, `ts_rank`); on SQLite an FTS5
table (`bm25`), for which the words become an FTS5 query (`fts5_query`). Both stem
English words ("cooking" finds "cook"). Which Spaces are live or upcoming is read from
the Space rows, so a search never returns an ended Space even while this projection lags.
"""

from __future__ import annotations

import re
from typing import Any

from application.ports import Cursor, Views
from domain.people import Account
from domain.space import Space
from projections.base import PARAMETERS_PER_INSERT, Projection, handles, handles_in_bulk, insert_rows, text
from projections.spaces import LIVE_OR_UPCOMING, SPACE_COLUMNS

POSTGRES = (
    "CREATE TABLE IF NOT EXISTS space_search (space_id TEXT PRIMARY KEY, host_id TEXT NOT NULL, "
    "title TEXT NOT NULL, host_handle TEXT, document tsvector GENERATED ALWAYS AS "
    "(to_tsvector('english', title) || to_tsvector('english', coalesce(host_handle, ''))) STORED)",
    "CREATE INDEX IF NOT EXISTS space_search_document ON space_search USING GIN (document)",
    "CREATE INDEX IF NOT EXISTS space_search_host ON space_search (host_id)",
)
# The FTS5 table is the rows' index, kept by triggers and rebuilt from them whenever the
# tables are made (after a rebuild of the projections too).
SQLITE = (
    "CREATE TABLE IF NOT EXISTS space_search (seq INTEGER PRIMARY KEY, space_id TEXT NOT NULL "
    "UNIQUE, host_id TEXT NOT NULL, title TEXT NOT NULL, host_handle TEXT)",
    "CREATE INDEX IF NOT EXISTS space_search_host ON space_search (host_id)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS space_search_fts USING fts5(title, host_handle, "
    "content = 'space_search', content_rowid = 'seq', tokenize = 'porter unicode61')",
    "CREATE TRIGGER IF NOT EXISTS space_search_added AFTER INSERT ON space_search BEGIN "
    "INSERT INTO space_search_fts (rowid, title, host_handle) "
    "VALUES (new.seq, new.title, new.host_handle); END",
    "CREATE TRIGGER IF NOT EXISTS space_search_dropped AFTER DELETE ON space_search BEGIN "
    "INSERT INTO space_search_fts (space_search_fts, rowid, title, host_handle) "
    "VALUES ('delete', old.seq, old.title, old.host_handle); END",
    "CREATE TRIGGER IF NOT EXISTS space_search_changed AFTER UPDATE ON space_search BEGIN "
    "INSERT INTO space_search_fts (space_search_fts, rowid, title, host_handle) "
    "VALUES ('delete', old.seq, old.title, old.host_handle); "
    "INSERT INTO space_search_fts (rowid, title, host_handle) "
    "VALUES (new.seq, new.title, new.host_handle); END",
    "INSERT INTO space_search_fts (space_search_fts) VALUES ('rebuild')",
)
SPACE = ("JOIN spaces s ON s.id = x.space_id LEFT JOIN accounts a ON a.id = s.host_id WHERE "
         f"{LIVE_OR_UPCOMING} AND (? IS NULL OR s.host_id = ?)")
SEARCH = {
    "postgresql": f"SELECT {SPACE_COLUMNS} FROM websearch_to_tsquery('english', ?) q "
                  f"JOIN space_search x ON x.document @@ q {SPACE} "
                  "ORDER BY ts_rank(x.document, q) DESC, s.id LIMIT ? OFFSET ?",
    # FTS5 matches and ranks by a hidden column named as the table (bm25: lower is better).
    "sqlite": f"SELECT {SPACE_COLUMNS} FROM space_search_fts f JOIN space_search x "
              f"ON x.seq = f.rowid AND f.space_search_fts MATCH ? {SPACE} "
              "ORDER BY bm25(f.space_search_fts), s.id LIMIT ? OFFSET ?",
}
TERM = re.compile(r'(-)?(?:"([^"\x00]*)"?|([^\s"\x00]+))')  # FTS5 ends a query at a NUL


class SearchProjection(Projection):
    name = "search"
    tables = ("space_search", "search_hosts")
    schema = ("CREATE TABLE IF NOT EXISTS search_hosts (id TEXT PRIMARY KEY, handle TEXT NOT NULL)",)
    dialect_schema = {"postgresql": POSTGRES, "sqlite": SQLITE}

    @handles(Account.AccountRegistered)
    def registered(self, event: Any, position: int, cursor: Cursor) -> None:
        self.registered_many([(event, position)], cursor)

    @handles_in_bulk(Account.AccountRegistered)
    def registered_many(self, events: list[tuple[Any, int]], cursor: Cursor) -> None:
        hosts = [(text(e.originator_id), e.handle) for e, _ in events]
        insert_rows(cursor, "search_hosts (id, handle)", hosts, "ON CONFLICT DO NOTHING")
        for start in range(0, len(hosts), PARAMETERS_PER_INSERT):
            ids = [account_id for account_id, _ in hosts[start:start + PARAMETERS_PER_INSERT]]
            cursor.execute("UPDATE space_search SET host_handle = (SELECT h.handle FROM "
                           "search_hosts h WHERE h.id = space_search.host_id) "
                           f"WHERE host_id IN ({', '.join('?' * len(ids))})", ids)

    @handles(Space.SpaceCreated)
    def created(self, event: Any, position: int, cursor: Cursor) -> None:
        host_id = text(event.host_id)
        cursor.execute(
            "INSERT INTO space_search (space_id, host_id, title, host_handle) VALUES "
            "(?, ?, ?, (SELECT handle FROM search_hosts WHERE id = ?)) ON CONFLICT DO NOTHING",
            (text(event.originator_id), host_id, event.title, host_id))

    @handles(Space.HostHandedOver)
    def handed_over(self, event: Any, position: int, cursor: Cursor) -> None:
        host_id = text(event.to_host)
        cursor.execute(
            "UPDATE space_search SET host_id = ?, host_handle = (SELECT handle FROM search_hosts "
            "WHERE id = ?) WHERE space_id = ?", (host_id, host_id, text(event.originator_id)))

    @handles(Space.SpaceEnded)
    def ended(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("DELETE FROM space_search WHERE space_id = ?", (text(event.originator_id),))


def search(views: Views, words: str, host_id: str | None, limit: int,
           offset: int) -> list[dict[str, Any]]:
    """Live and upcoming Spaces whose title and host's handle have the words (web search
    syntax: "a phrase", `or`, `-left out`), the best first; optionally only one host's."""
    query = words if views.dialect == "postgresql" else fts5_query(words)
    if query is None:
        return []
    return views.rows(SEARCH[views.dialect], (query, host_id, host_id, limit, offset))


def fts5_query(words: str) -> str | None:
    """Web search syntax as an FTS5 query that is never a syntax error: every term quoted,
    the terms of a group all needed (less the `-` ones), groups joined by OR. None: no
    term has a letter or digit, so nothing matches."""
    groups: list[tuple[list[str], list[str]]] = [([], [])]  # (needed, left out) terms
    for minus, phrase, word in TERM.findall(words):
        term = phrase or word
        if word and not minus and word.lower() == "or":
            groups.append(([], []))
        elif any(c.isalnum() for c in term):
            groups[-1][1 if minus else 0].append(f'"{term}"')
    clauses = [" ".join(needed) + "".join(f" NOT {t}" for t in left_out)
               for needed, left_out in groups if needed]
    return " OR ".join(f"({c})" for c in clauses) or None
