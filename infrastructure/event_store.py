"""The eventsourcing persistence environment that the settings choose."""

from __future__ import annotations

from infrastructure.settings import Settings


def event_store_env(settings: Settings) -> dict[str, str]:
    if settings.event_store == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(settings.data_dir / "events.sqlite"),
        "SQLITE_LOCK_TIMEOUT": "10",
    }
