"""The composition root: builds the running system from settings.

- no database URL: the embedded default (SQLite events and views under the data dir);
- SPACES_DATABASE_URL: events and views in PostgreSQL;
- plus SPACES_KAFKA_BOOTSTRAP: events reach the views through the relay and Kafka.
Without Kafka the projections are fed in-process from the event store.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from dataclasses import dataclass, field
from typing import Any, Iterator

from application.spaces import SpacesApplication
from infrastructure.event_store import event_store_env
from infrastructure.hash_chain import HashChain
from infrastructure.live import LiveEvents
from infrastructure.log_follower import LogFollower
from infrastructure.rate_limit import RateLimiter
from infrastructure.settings import Settings
from infrastructure.store_notifications import StoreNotifications
from infrastructure.tokens import INTERNAL, TokenSigner, load_or_create_secret
from infrastructure.views import ViewDatabase
from media import ice
from media.domain_feed import DomainFeed, KafkaDomainFeed
from infrastructure import transcripts
from media.node import MediaNode
from media.speech import engine_factory
from media.retention import RetentionJob
from projections.runner import PolledProgress, ProjectionRunner

SCHEMA_LOCK = 0x5343_484D  # "SCHM": one process at a time creates tables


@dataclass
class System:
    settings: Settings
    app: SpacesApplication
    views: Any
    projections: ProjectionRunner
    progress: Any  # .position() and .wait_for(position, timeout) of the views
    tokens: TokenSigner
    live: LiveEvents
    reactions: RateLimiter
    audio_attempts: RateLimiter  # offers to publish or listen, per caller and per address
    signups: RateLimiter  # per address
    space_reactions: RateLimiter  # reactions sent on one by one, per Space
    chain: HashChain
    store_feed: LogFollower  # the notification log, read once for this process
    notifications: Any = None  # with PostgreSQL: wakes this process's followers on NOTIFY
    stream: Any = None  # the live stream hub of this API process (api/stream.py)
    views_waiter: Any = None  # ?after= reads wait on it (api/read_your_writes.py)
    media: Any = None  # a MediaNode here, or a RemoteMedia for a `spaces media` process
    background: list[Any] = field(default_factory=list)  # things with start() and stop()

    @property
    def ready(self) -> bool:
        return all(worker.ready for worker in self.background)

    def start(self) -> None:
        for worker in self.background:
            worker.start()

    def start_media(self, loop: Any) -> None:
        """The media node lives on the server's event loop; it follows the Space events."""
        s = self.settings
        feed = (KafkaDomainFeed(self.app, self.media, loop, s.kafka_bootstrap, s.kafka_topic)
                if s.kafka_bootstrap else DomainFeed(self.app, self.media, loop, self.store_feed))
        feed.start()
        self.background.append(feed)

    def on_presence(self, space_id: str, listeners: int, change: str, user_id: str | None) -> None:
        with self.views.transaction() as cursor:
            cursor.execute("UPDATE spaces SET listener_count = ? WHERE id = ?", (listeners, space_id))
        self.live.publish(space_id, "presence",
                          {"listeners": listeners, "change": change, "user_id": user_id})

    def on_caption(self, space_id: str, line: dict[str, Any]) -> None:
        if line["final"]:
            transcripts.store_line(self.views, space_id, line)
        self.live.publish(space_id, "caption", line)

    def close(self) -> None:
        for worker in reversed(self.background):
            worker.stop()
        self.app.close()
        self.views.close()


def build(settings: Settings, *, workers: bool | None = None) -> System:
    """`workers` says whether the views are fed (projections, relay, hash chain) from this
    process; by default as `run_workers` says, and always on the embedded default."""
    with _schema_lock(settings.database_url):
        app = SpacesApplication(event_store_env(settings), stage_limit=settings.stage_limit,
                                schedule_horizon=timedelta(days=settings.schedule_horizon_days),
                                group_commit=settings.write_path == "grouped")
        views = _views(settings)
        runner = ProjectionRunner(app, views)
        if settings.kafka_bootstrap and settings.database_url:
            from infrastructure.kafka_relay import create_relay_tables
            from projections.kafka_worker import create_worker_tables

            create_relay_tables(settings.database_url)
            create_worker_tables(views)
    secret = _secret(settings)
    system = System(
        settings=settings, app=app, views=views, projections=runner, progress=runner,
        tokens=TokenSigner(secret, settings.token_ttl_days * 86400),
        live=LiveEvents(),
        reactions=RateLimiter(settings.reactions_per_second, settings.reaction_burst),
        audio_attempts=RateLimiter(settings.audio_offers_per_second, settings.audio_offer_burst),
        signups=RateLimiter(settings.signups_per_minute / 60, settings.signup_burst),
        space_reactions=RateLimiter(settings.space_reactions_per_second,
                                    2 * int(settings.space_reactions_per_second) or 1),
        chain=HashChain(app, _chain_database(settings, views), secret),
        store_feed=LogFollower(app),
    )
    # Built first, so the cache hears of every event stored after the app was built,
    # and subscribed first, so the others read the aggregates it has heard about.
    system.store_feed.subscribe(app.cache.follow)
    system.background.append(system.store_feed)
    if settings.database_url:
        system.notifications = StoreNotifications(app, settings.database_url)
        system.background.append(system.notifications)
    ice.use_host_addresses(settings.media_host_addresses)
    if settings.media_url:
        from media.remote import RemoteMedia

        system.media = RemoteMedia(settings.media_url, system.tokens.issue("api", INTERNAL))
    else:
        system.media = MediaNode(settings.media_ice_servers, on_presence=system.on_presence,
                                 recordings=settings.data_dir / "recordings",
                                 segment_seconds=settings.recording_segment_seconds,
                                 speech=engine_factory(settings.stt_engine, settings.stt_model),
                                 transcription_slots=settings.transcription_slots,
                                 on_caption=system.on_caption,
                                 max_rooms=settings.media_max_rooms,
                                 max_sessions=settings.media_max_sessions,
                                 on_talking=lambda space_id, talking: system.live.publish(
                                     space_id, "talking", {"speakers": talking}))
    run_workers = _runs_workers(settings, workers)
    if settings.kafka_bootstrap:
        _through_kafka(system, run_workers)
        from infrastructure.kafka_live import LiveToKafka

        live_to_kafka = LiveToKafka(settings.kafka_bootstrap, settings.kafka_live_prefix,
                                    settings.kafka_partitions)
        system.live.subscribe(live_to_kafka)
        system.background.append(live_to_kafka)
    elif run_workers:
        runner.feed_from(system.store_feed)
        system.background.append(runner)
    else:
        system.progress = PolledProgress(views)
    if run_workers:
        system.chain.feed_from(system.store_feed)
        system.background.append(system.chain)
    if workers is not False and (workers or not settings.kafka_bootstrap or settings.run_workers):
        system.background.append(RetentionJob(app, settings.data_dir / "recordings",
                                              settings.retention_days, views))
    return system


def _runs_workers(settings: Settings, workers: bool | None) -> bool:
    if workers is not None:
        return workers
    return settings.run_workers or not settings.database_url  # SQLite views stay in-process


def relay_process(system: System) -> list[Any]:
    """What `spaces relay` runs: the relay, and the hash chain beside it."""
    return [relay(system), system.chain]


def projection_process(system: System) -> list[Any]:
    """What `spaces project` runs: a Kafka projection worker, or without Kafka the runner
    and the hash chain, both fed by one reader of the log, woken by NOTIFY."""
    if system.settings.kafka_bootstrap:
        return [projection_worker(system)]
    system.projections.feed_from(system.store_feed)
    system.chain.feed_from(system.store_feed)
    return [system.notifications, system.store_feed, system.projections, system.chain]


def relay(system: System) -> Any:
    from infrastructure.kafka_relay import Relay

    s = system.settings
    return Relay(system.app, s.database_url, s.kafka_bootstrap, s.kafka_topic, s.kafka_partitions)


def projection_worker(system: System) -> Any:
    from projections.kafka_worker import ProjectionWorker

    s = system.settings
    return ProjectionWorker(system.app, system.views, s.kafka_bootstrap, s.kafka_topic,
                            s.projection_group, worker_id=s.worker_id, partitions=s.kafka_partitions)


def _through_kafka(system: System, run_workers: bool) -> None:
    from projections.kafka_progress import KafkaViewsProgress

    if not system.settings.database_url:
        raise ValueError("SPACES_KAFKA_BOOTSTRAP needs SPACES_DATABASE_URL: the relay reads "
                         "PostgreSQL's notification log")
    system.progress = KafkaViewsProgress(system.views, system.settings.kafka_topic)
    if run_workers:
        system.background += [relay(system), projection_worker(system)]


def _views(settings: Settings) -> Any:
    if settings.database_url:
        from infrastructure.pg_views import PostgresViewDatabase

        return PostgresViewDatabase(settings.database_url, settings.database_pool_size)
    if settings.event_store == "memory":
        return ViewDatabase(None)
    return ViewDatabase(str(settings.data_dir / "views.sqlite"))


def _chain_database(settings: Settings, views: Any) -> Any:
    """The hash chain lives beside the events: in PostgreSQL's database, or SQLite's file."""
    if settings.database_url or settings.event_store == "memory":
        return views
    return ViewDatabase(str(settings.data_dir / "events.sqlite"))


def _secret(settings: Settings) -> str:
    if settings.event_store == "memory" and not settings.database_url:
        return settings.secret or "in-memory-secret"
    return load_or_create_secret(settings.secret, settings.data_dir)


@contextmanager
def _schema_lock(database_url: str | None) -> Iterator[None]:
    """Concurrent first starts would race on CREATE TABLE / CREATE TYPE: take turns."""
    if not database_url:
        yield
        return
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))
