"""The composition root: builds the running system from settings; it only wires.

`settings.topology` says where events and views live and how events reach the views
(infrastructure/settings.py). `build(..., media=...)` adds the media layer, for the two
processes that carry or sign audio: "gateway" for `spaces serve` (its own media node, one
`spaces media` process to ask, or the fleet), "node" for `spaces media`. The other
commands never build it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from api import audit_log, idempotency
from api.callers import Callers
from application.background import BackgroundThread
from application.ports import Background, MediaGateway, Views, ViewsProgress
from application.retention import RetentionJob
from application.spaces import SpacesApplication
from domain.errors import DomainError
from domain.space import Space
from infrastructure import transcripts, webhooks
from infrastructure.event_store import event_store_env
from infrastructure.hash_chain import HashChain
from infrastructure.integrator_keys import KeyIndex, KeySecrets
from infrastructure.jwt_tokens import AccessTokens
from infrastructure.kafka_events_tail import KafkaEventsTail
from infrastructure.legacy_tokens import LegacyTokens
from infrastructure.live import LiveEvents
from infrastructure.log_follower import LogFollower
from infrastructure.oidc import OidcKeys, OidcVerifier
from infrastructure.pg_live import LiveThroughPostgres
from infrastructure.rate_limit import RateLimiter
from infrastructure.settings import Settings, Topology
from infrastructure.signal_recorder import SignalRecorder
from infrastructure.store_notifications import StoreNotifications
from infrastructure.token_kinds import Tokens
from infrastructure.tokens import INTERNAL, load_or_create_secret
from infrastructure.transcripts import TranscriptLines
from infrastructure.views import ViewDatabase
from infrastructure.webhook_dispatcher import WebhookDispatcher
from infrastructure.webhooks import Webhooks
from projections.fanout import Notifier
from projections.presence import PresenceWriter, forget_node, forget_space
from projections.runner import PolledProgress, ProjectionRunner

if TYPE_CHECKING:
    from api.notification_watch import NotificationWatch
    from api.read_cache import ReadCache
    from api.read_your_writes import ViewsWaiter
    from api.stream import StreamHub
    from media.node import MediaNode

log = logging.getLogger(__name__)
SCHEMA_LOCK = 0x5343_484D  # "SCHM": one process at a time creates tables


@dataclass
class System:
    settings: Settings
    app: SpacesApplication
    views: Views
    projections: ProjectionRunner
    progress: ViewsProgress
    tokens: Tokens
    key_secrets: KeySecrets  # makes and derives the integrators' secrets
    live: LiveEvents
    reactions: RateLimiter
    audio_attempts: RateLimiter  # offers to publish or listen, per caller and per address
    signups: RateLimiter  # per address
    space_reactions: RateLimiter  # reactions sent on one by one, per Space
    chain: HashChain
    store_feed: LogFollower  # the notification log, read once for this process
    notifier: Notifier  # writes the notifications' rows (runs where the views are fed)
    signals: SignalRecorder  # logs the live signals this process publishes, for analytics
    webhooks: Webhooks  # the endpoints operators registered, and their delivery log
    notifications: StoreNotifications | None = None  # PostgreSQL: wakes followers on NOTIFY
    stream: StreamHub | None = None  # the live stream hub of an API process (api/stream.py)
    notification_watch: NotificationWatch | None = None  # wakes notification streams (API process)
    views_waiter: ViewsWaiter | None = None  # ?after= reads wait on it (api/read_your_writes.py)
    read_cache: ReadCache | None = None  # the busiest reads, from memory (api/read_cache.py)
    media: MediaGateway | None = None  # the node below, or a RemoteMedia for `spaces media`
    node: MediaNode | None = None  # the media node of this process, if it carries audio
    heartbeat: Background | None = None  # a fleet node's beat (`spaces media` in a fleet)
    background: list[Background] = field(default_factory=list)
    callers: Callers = field(init=False)  # from a bearer token to the Caller routes know

    def __post_init__(self) -> None:
        self.callers = Callers(self.app, self.tokens)

    @property
    def audio(self) -> MediaGateway:
        """The media layer this process answers audio requests with (serve and media only)."""
        if self.media is None:
            raise RuntimeError("this process was built without media (build(..., media=True))")
        return self.media

    @property
    def ready(self) -> bool:
        return all(worker.ready for worker in self.background)

    def start(self) -> None:
        for worker in self.background:
            worker.start()

    def start_media(self, loop: Any) -> None:
        """The media node lives on the server's event loop; it follows the Space events."""
        from media.domain_feed import DomainFeed

        s = self.settings
        source: LogFollower | KafkaEventsTail = self.store_feed
        if s.topology is Topology.KAFKA:
            assert s.kafka_bootstrap
            source = KafkaEventsTail(s.kafka_bootstrap, s.kafka_topic)
            self.background.append(source)
            source.start()
        assert self.node is not None, "only a process with a media node starts it"
        feed = DomainFeed(self.app, self.node, loop, source)
        feed.start()
        self.background.append(feed)

    def close(self) -> None:
        for worker in reversed(self.background):
            worker.stop()
        self.app.close()
        self.views.close()


def build(settings: Settings, *, workers: bool | None = None,
          media: Literal["gateway", "node"] | None = None) -> System:
    """`workers` says whether the views are fed (projections, relay, hash chain) from this
    process; by default as `settings.feeds_views` says. `media` adds the media layer."""
    with _schema_lock(settings.database_url):
        app = SpacesApplication(event_store_env(settings), stage_limit=settings.stage_limit,
                                cohost_limit=settings.cohost_limit,
                                schedule_horizon=timedelta(days=settings.schedule_horizon_days),
                                group_commit=settings.write_path == "grouped")
        views = _views(settings)
        runner = ProjectionRunner(app, views)
        _create_tables(settings, views)
    secret = _secret(settings)
    key_secrets = KeySecrets(secret)
    system = System(
        settings=settings, app=app, views=views, projections=runner, progress=runner,
        tokens=_tokens(settings, secret, app, key_secrets), key_secrets=key_secrets,
        live=LiveEvents(),
        reactions=RateLimiter(settings.reactions_per_second, settings.reaction_burst),
        audio_attempts=RateLimiter(settings.audio_offers_per_second, settings.audio_offer_burst),
        signups=RateLimiter(settings.signups_per_minute / 60, settings.signup_burst),
        space_reactions=RateLimiter(settings.space_reactions_per_second,
                                    2 * int(settings.space_reactions_per_second) or 1),
        chain=HashChain(app, _chain_database(settings, views), secret),
        store_feed=LogFollower(app),
        notifier=Notifier(views, settings.notification_batch, pause=settings.notification_pause),
        signals=SignalRecorder(views),
        webhooks=Webhooks(views, settings.webhooks_allow_private),
    )
    system.live.subscribe(system.signals, outbound=True)  # what this process publishes
    system.background.append(system.signals)
    # Built first, so the cache hears of every event stored after the app was built,
    # and subscribed first, so the others read the aggregates it has heard about.
    system.store_feed.subscribe(app.cache.follow)
    system.background.append(system.store_feed)
    if (keys := system.tokens.keys) is not None:  # what this process and the others store
        app.saved_listeners.append(keys.follow)
        system.store_feed.subscribe(keys.follow)
    if settings.database_url:
        system.notifications = StoreNotifications(app, settings.database_url)
        system.background += [system.notifications,
                              LiveThroughPostgres(settings.database_url, system.live)]
    if media == "node":
        system.media = system.node = _media_node(system)
        if settings.media_fleet:
            system.heartbeat = _heartbeat(system, system.node)
            system.background.append(system.heartbeat)
    elif media == "gateway":
        system.media, system.node = _gateway(system)
    feeds_views = settings.feeds_views if workers is None else workers
    if settings.topology is Topology.KAFKA:
        _through_kafka(system, feeds_views)
    elif feeds_views:
        runner.feed_from(system.store_feed)
        runner.progress_listeners.append(system.notifier.wake)
        system.background.append(runner)
    else:
        system.progress = PolledProgress(views)
    system.notifier.caught_up = system.progress.position  # jobs wait for the events before them
    if feeds_views:
        system.chain.feed_from(system.store_feed)
        system.background += [system.chain, system.notifier, _webhook_dispatcher(system),
                              _retention(system)]
    return system


def relay_process(system: System) -> list[Background]:
    """What `spaces relay` runs: the relay, and the hash chain beside it."""
    return [relay(system), system.chain]


def projection_process(system: System) -> list[Background]:
    """What `spaces project` runs: a Kafka projection worker, or without Kafka the runner
    and the hash chain, both fed by one reader of the log, woken by NOTIFY."""
    if system.settings.topology is Topology.KAFKA:
        return [projection_worker(system), system.notifier, _webhook_dispatcher(system)]
    assert system.notifications is not None, "spaces project needs PostgreSQL"
    system.projections.feed_from(system.store_feed)
    system.projections.progress_listeners.append(system.notifier.wake)
    system.chain.feed_from(system.store_feed)
    return [system.notifications, system.store_feed, system.projections, system.chain,
            system.notifier, _webhook_dispatcher(system), _retention(system)]


def relay(system: System) -> BackgroundThread:
    from infrastructure.kafka_relay import Relay

    s = system.settings
    assert s.database_url and s.kafka_bootstrap
    return Relay(system.app, s.database_url, s.kafka_bootstrap, s.kafka_topic, s.kafka_partitions)


def projection_worker(system: System) -> BackgroundThread:
    from infrastructure.kafka_projection_worker import ProjectionWorker

    s = system.settings
    assert s.kafka_bootstrap
    worker = ProjectionWorker(system.app, system.views, s.kafka_bootstrap, s.kafka_topic,
                              s.projection_group, worker_id=s.worker_id,
                              partitions=s.kafka_partitions)
    worker.applied_listeners.append(system.notifier.wake)
    return worker


def _webhook_dispatcher(system: System) -> WebhookDispatcher:
    s = system.settings
    return WebhookDispatcher(system.app, system.views, database_url=s.database_url,
                             allow_private=s.webhooks_allow_private,
                             retry_seconds=s.webhook_retry_seconds,
                             give_up_hours=s.webhook_give_up_hours,
                             timeout=s.webhook_timeout_seconds)


def _retention(system: System) -> RetentionJob:
    s = system.settings
    return RetentionJob(system.app, s.recordings, s.retention_days, TranscriptLines(system.views))


def _through_kafka(system: System, feeds_views: bool) -> None:
    from infrastructure.kafka_live import LiveToKafka
    from infrastructure.kafka_progress import KafkaViewsProgress

    s = system.settings
    assert s.kafka_bootstrap
    system.progress = KafkaViewsProgress(system.views, s.kafka_topic)
    if feeds_views:
        system.background += [relay(system), projection_worker(system)]
    live_to_kafka = LiveToKafka(s.kafka_bootstrap, s.kafka_live_prefix, s.kafka_partitions)
    system.live.subscribe(live_to_kafka, outbound=True)
    system.background.append(live_to_kafka)


def _gateway(system: System) -> tuple[MediaGateway, MediaNode | None]:
    """How the API carries audio: the fleet of media nodes, one `spaces media` process to
    ask, or a media node of its own."""
    s = system.settings
    token = system.tokens.issue("api", INTERNAL)
    if s.media_fleet:
        return _fleet(system, token), None
    if s.media_url:
        from infrastructure.remote_media import RemoteMedia

        return RemoteMedia(s.media_url, token), None
    node = _media_node(system)
    return node, node


def _fleet(system: System, token: str) -> MediaGateway:
    """Places Spaces on the fleet; when a node dies or leaves, the people of each Space it
    carried are told to reconnect (on the live stream), and a moved origin is recorded."""
    from infrastructure.fleet_media import FleetMedia
    from infrastructure.media_fleet import FleetWatch, MediaFleet

    app, live = system.app, system.live

    def moved(space_id: str, from_node: str, to_node: str) -> None:
        try:
            app.move_media(UUID(space_id), from_node, to_node)
        except DomainError as error:  # it ended meanwhile
            log.info("Space %s moved media nodes but says: %s", space_id, error)

    def lost(space_id: str, node_id: str, was_origin: bool) -> None:
        forget_node(system.views, space_id, node_id)
        live.publish(space_id, "reconnect", {"node": node_id, "origin": was_origin})

    def forget_ended(notifications: list[Any]) -> None:
        for notification in notifications:
            if notification.topic == Space.SpaceEnded.TOPIC:
                fleet.forget(str(notification.originator_id))

    fleet = MediaFleet(system.views, on_moved=moved)
    system.store_feed.subscribe(forget_ended)
    system.background.append(FleetWatch(fleet, lost))
    return FleetMedia(fleet, token)


def _heartbeat(system: System, node: MediaNode) -> Background:
    from infrastructure.media_fleet import Heartbeat, MediaFleet

    s = system.settings
    return Heartbeat(MediaFleet(system.views), s.node_id, s.public_url, s.media_capacity,
                     node.listeners)


def _media_node(system: System) -> MediaNode:
    """The media node of this process, reporting who listens, captions and who is talking
    to the views and the live events; who listened to a Space is forgotten when it ends."""
    s = system.settings
    from media import ice
    from media.node import MediaNode
    from media.speech import engine_factory

    presence, live = PresenceWriter(system.views, s.node_id), system.live
    presence.start_afresh()

    def on_presence(space_id: str, listeners: int, change: str, user_id: str | None,
                    session_id: str) -> None:
        total = presence.record(space_id, listeners, change, session_id, user_id)
        live.publish(space_id, "presence", {"listeners": total, "change": change,
                                            "user_id": user_id})

    def forget_ended(notifications: list[Any]) -> None:
        for notification in notifications:
            if notification.topic == Space.SpaceEnded.TOPIC:
                forget_space(system.views, str(notification.originator_id))

    def on_caption(space_id: str, line: dict[str, Any]) -> None:
        if line["final"]:
            transcripts.store_line(system.views, space_id, line)
        live.publish(space_id, "caption", line)

    ice.use_host_addresses(s.media_host_addresses)
    node = MediaNode(s.media_ice_servers, on_presence=on_presence, recordings=s.recordings,
                     segment_seconds=s.recording_segment_seconds,
                     speech=engine_factory(s.stt_engine, s.stt_model),
                     transcription_slots=s.transcription_slots, on_caption=on_caption,
                     max_rooms=s.media_max_rooms, max_sessions=s.media_max_sessions,
                     max_listeners=s.media_capacity, fanout=s.media_fanout,
                     hls=None if s.hls == "off" else s.hls_root, hls_always=s.hls == "always",
                     hls_linger=s.hls_linger_seconds,
                     on_talking=lambda space_id, talking: live.publish(
                         space_id, "talking", {"speakers": talking}),
                     internal_token=system.tokens.issue(s.node_id, INTERNAL))
    system.store_feed.subscribe(forget_ended)
    return node


def _create_tables(settings: Settings, views: Views) -> None:
    """Every table beside the event store's own; the projections' tables come with their
    runner (which rebuilds them)."""
    idempotency.create_table(views)
    webhooks.create_tables(views)
    audit_log.create_table(views)
    transcripts.create_table(views)
    if settings.media_fleet:
        from infrastructure import media_fleet

        media_fleet.create_tables(views)
    if settings.topology is Topology.KAFKA:
        from infrastructure.kafka_projection_worker import create_worker_tables
        from infrastructure.kafka_relay import create_relay_tables

        assert settings.database_url
        create_relay_tables(settings.database_url)
        create_worker_tables(views)


def _views(settings: Settings) -> Views:
    if settings.database_url:
        from infrastructure.pg_views import PostgresViewDatabase

        return PostgresViewDatabase(settings.database_url, settings.database_pool_size)
    if settings.event_store == "memory":
        return ViewDatabase(None)
    return ViewDatabase(str(settings.data_dir / "views.sqlite"))


def _chain_database(settings: Settings, views: Views) -> Views:
    """The hash chain lives beside the events: in PostgreSQL's database, or SQLite's file."""
    if settings.database_url or settings.event_store == "memory":
        return views
    return ViewDatabase(str(settings.data_dir / "events.sqlite"))


def _tokens(settings: Settings, secret: str, app: SpacesApplication,
            key_secrets: KeySecrets) -> Tokens:
    """The verifiers of every kind of token this server takes (infrastructure/token_kinds.py)."""
    leeway, longest = settings.token_leeway_seconds, settings.external_token_max_seconds
    own = AccessTokens(secret, settings.token_ttl_days * 86400, settings.token_audience, leeway)
    keys = KeyIndex(app.stored_keyring, key_secrets, audience=settings.token_audience,
                    leeway=leeway, longest=longest)
    oidc = None
    if settings.oidc_issuer:
        assert settings.oidc_audience, "the settings say so"
        oidc = OidcVerifier(
            OidcKeys(settings.oidc_issuer, refetch_after=settings.oidc_refetch_seconds,
                     keep_withdrawn=longest + leeway),
            audience=settings.oidc_audience, leeway=leeway, longest=longest,
            roles=settings.oidc_roles)
    return Tokens(own, LegacyTokens(secret) if settings.legacy_tokens else None, keys, oidc)


def _secret(settings: Settings) -> str:
    if settings.event_store == "memory" and not settings.database_url:
        # Nothing outlives an in-memory store, its tokens included: a secret of its own.
        return settings.secret or secrets.token_urlsafe(32)
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
