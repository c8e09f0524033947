"""Search on PostgreSQL views: the same checks as on SQLite, by full-text search, ranked,
under its GIN index."""

from __future__ import annotations

import psycopg
from fastapi.testclient import TestClient

from api.app import create_app
from infrastructure.settings import Settings
from tests.unit.test_http_search import check_search


def test_search_on_postgres_ranks_by_full_text_search_under_a_gin_index(database_url, tmp_path):
    with TestClient(create_app(Settings(database_url=database_url, data_dir=tmp_path,
                                        secret="s"))) as client:
        check_search(client)
    with psycopg.connect(database_url, cursor_factory=psycopg.ClientCursor) as connection:
        (index,) = connection.execute("SELECT indexdef FROM pg_indexes "
                                      "WHERE indexname = 'space_search_document'").fetchone()
        assert "USING gin (document)" in index
        connection.execute("SET enable_seqscan = off")  # a handful of rows: as if there were many
        plan = connection.execute("EXPLAIN SELECT space_id FROM space_search x WHERE x.document @@ "
                                  "websearch_to_tsquery('english', 'jazz')").fetchall()
        assert "Bitmap Index Scan on space_search_document" in "\n".join(line for (line,) in plan)
