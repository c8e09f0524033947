"""The eventsourcing persistence environment that the settings choose."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from infrastructure.settings import Settings


def event_store_env(settings: Settings) -> dict[str, str]:
    if settings.database_url:
        return postgres_env(settings.database_url, settings.database_pool_size)
    if settings.event_store == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(settings.data_dir / "events.sqlite"),
        "SQLITE_LOCK_TIMEOUT": "10",
    }


def postgres_env(database_url: str, pool_size: int) -> dict[str, str]:
    url = urlsplit(database_url)
    if url.scheme not in ("postgresql", "postgres") or not url.path.strip("/"):
        raise ValueError("SPACES_DATABASE_URL looks like postgresql://user:password@host:port/database")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(url.path.lstrip("/")),
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size),
        "POSTGRES_LOCK_TIMEOUT": "30",
    }
