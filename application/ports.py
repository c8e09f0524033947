"""The seams between the layers: what the application, the projections and the API need of
the read-model database, of the views' progress and of the media layer. The adapters in
`infrastructure/` and `media/` provide them; nothing here names a framework."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol


class Cursor(Protocol):
    """A cursor inside one views transaction; SQL uses `?` placeholders."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchone(self) -> Any: ...


Dialect = Literal["sqlite", "postgresql"]


class Views(Protocol):
    """The read-model database: SQLite in the embedded default, PostgreSQL otherwise.
    SQL is written once for both, except where `dialect` picks (full-text search)."""

    dialect: Dialect

    def transaction(self) -> AbstractContextManager[Any]: ...

    # Each database takes its own cursors only (a sqlite3 or a psycopg one).
    @staticmethod
    def savepoint(cursor: Any) -> AbstractContextManager[None]: ...

    @staticmethod
    def serialize(cursor: Any, name: str) -> None: ...

    @staticmethod
    def try_lock(cursor: Any, name: str) -> bool:
        """Takes a lock named `name` until the transaction ends, unless another holds it."""


    def exclusive(self) -> AbstractContextManager[None]: ...

    builds_beside: bool
    """Whether a rebuild can write new views beside the live ones and swap them in
    (`beside`, `swap_in`); where it cannot, it replays into the views in place."""

    def beside(self) -> AbstractContextManager[None]:
        """This thread's transactions make and write tables beside the views (none at
        first), which they find before the views' own; whatever is left there goes at the end."""

    @staticmethod
    def write_live(cursor: Any, tables: Sequence[str]) -> None:
        """In a transaction `beside`: these tables, made beside, go; this thread writes
        the views' own of those names."""

    @staticmethod
    def swap_in(cursor: Any, tables: Sequence[str]) -> None:
        """In a transaction `beside`: the new tables replace the views' tables of those
        names, and the rest made beside goes."""

    def rows(self, sql: str, params: Sequence[Any] = ..., prepare: bool = ...) -> list[dict[str, Any]]:
        """`prepare`: planned once per connection where the database can (a hot read whose
        parameters all take their types from the statement)."""

    def row(self, sql: str, params: Sequence[Any] = ...) -> dict[str, Any] | None: ...

    def close(self) -> None: ...


class ViewsProgress(Protocol):
    """How far the views have got in the event store's notification log."""

    def position(self) -> int: ...

    def wait_for(self, position: int, timeout: float) -> bool: ...


class BadOffer(ValueError):
    """The SDP offer cannot be used (not SDP, or no audio)."""


class MediaFull(RuntimeError):
    """The media node carries as many rooms or sessions as it may."""


class MediaGateway(Protocol):
    """The media layer as the API sees it: a node in this process or a `spaces media` one.
    `publish` and `listen` answer (session id, SDP answer) or raise BadOffer or MediaFull."""

    async def publish(self, space_id: str, host_id: str, user_id: str, offer: str,
                      audible: bool, recording: bool = False,
                      transcripts: bool = False) -> tuple[str, str]: ...

    async def listen(self, space_id: str, host_id: str, user_id: str | None, offer: str,
                     recording: bool = False, transcripts: bool = False,
                     origin: str | None = None) -> tuple[str, str]: ...

    async def resume(self, space_id: str, session_id: str, user_id: str | None,
                     offer: str) -> tuple[str, str | None]: ...

    async def end_session(self, space_id: str, session_id: str, user_id: str | None) -> str: ...

    async def package(self, space_id: str, host_id: str, recording: bool = False,
                      transcripts: bool = False) -> None:
        """The Space's origin packages its mix as LL-HLS until the Space ends."""

    async def close(self) -> None: ...


class EventSource(Protocol):
    """Hands each batch of stored events (notifications), in order, to its subscribers."""

    def subscribe(self, on_batch: Callable[[list[Any]], None]) -> None: ...

    def unsubscribe(self, on_batch: Callable[[list[Any]], None]) -> None: ...


class Transcripts(Protocol):
    """The stored transcripts, as retention needs them."""

    def spaces(self) -> set[str]: ...

    def delete(self, space_id: str) -> None: ...


class Background(Protocol):
    """A worker of a process: started once, stopped once; `ready` once it has caught up."""

    ready: bool

    def start(self) -> None: ...

    def stop(self) -> None: ...
