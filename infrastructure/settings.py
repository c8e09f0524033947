"""Every setting in one place, read from SPACES_* environment variables (see README), and
the checks that span several of them."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Topology(StrEnum):
    """Where events and views live and how events reach the views."""

    EMBEDDED = "embedded"  # SQLite (or memory) events and views, fed inside the one process
    POSTGRES = "postgres"  # PostgreSQL; the views follow its notification log
    KAFKA = "kafka"  # PostgreSQL; the relay publishes events to Kafka, workers feed the views


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPACES_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("var")
    recordings_dir: Path | None = Field(
        None, description="where recordings are written (default: data_dir/recordings)")
    event_store: Literal["sqlite", "memory"] = Field(
        "sqlite", description="sqlite keeps events under data_dir; memory is for fast tests"
    )
    secret: str | None = Field(
        None, description="token signing secret; generated once into data_dir when unset"
    )
    token_ttl_days: int = Field(30, ge=1, description="how long this server's own tokens live")
    token_audience: str = Field(
        "spaces", min_length=1, description="the aud every token for this server carries "
        "(its own and integrators'); name the deployment to keep tokens from crossing")
    token_leeway_seconds: float = Field(
        30.0, ge=0, le=300, description="how far clocks may disagree on exp, nbf and iat")
    external_token_max_seconds: int = Field(
        86_400, ge=60, le=30 * 86_400, description="the longest lifetime (exp - iat) of a token "
        "from an integrator's key or the OIDC provider")
    legacy_tokens: bool = Field(
        True, description="accept tokens of the format before JWTs until they expire (none "
        "are issued any more, so all are gone SPACES_TOKEN_TTL_DAYS after the upgrade)")
    oidc_issuer: str | None = Field(
        None, description="an OpenID Connect provider whose tokens are accepted (its iss)")
    oidc_audience: str | None = Field(
        None, description="the aud the provider's tokens must carry (its client id for this server)")
    oidc_roles: list[str] = Field(
        default_factory=lambda: ["user"], description="roles the provider's tokens may "
        'grant (a grants claim; without one, "user"), as JSON')
    oidc_refetch_seconds: float = Field(
        30.0, gt=0, description="the provider's keys are fetched again at most this often "
        "(for a token naming a key not yet known)")
    stage_limit: int = Field(10, ge=1, description="speakers on stage at once, host included")
    cohost_limit: int = Field(2, ge=0, description="co-hosts a Space has at most (each sits "
                              "on the stage)")
    schedule_horizon_days: int = Field(30, ge=1, le=3650,
                                       description="how far ahead a Space may be scheduled")
    signup_enabled: bool = True
    signups_per_minute: float = Field(30.0, gt=0, description="sustained sign-ups per address")
    signup_burst: int = Field(30, ge=1, description="sign-ups from one address at once before 429")
    anonymous_listening: bool = True
    write_path: Literal["grouped", "plain"] = Field(
        "grouped", description="grouped stores concurrent commands in one transaction; "
        "plain saves each command on its own"
    )
    threads: int = Field(40, ge=1, description="threads that run commands and queries")
    processes: int = Field(1, ge=1, description="server processes (PostgreSQL only)")
    read_your_writes_timeout: float = Field(5.0, gt=0, le=60, description="seconds ?after= may wait")
    read_your_writes_per_caller: int = Field(
        16, ge=1, description="reads one caller may have waiting on ?after= at once (then 429)")
    media_url: str | None = Field(
        None, description="base URL of a separate `spaces media` process: the API answers "
        "audio requests by asking that node (it carries no audio itself)"
    )
    media_fleet: bool = Field(
        False, description="with PostgreSQL: `spaces media` processes register in the database "
        "and the API places each Space on them (an origin, and edges for its listeners)")
    media_node_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="this media node's name in the fleet (default: host-port)")
    media_public_url: str | None = Field(
        None, description="where the API and the other nodes reach this media node "
        "(default: http://host:port)")
    media_capacity: int = Field(300, ge=0, description="WebRTC listeners this media node takes "
                                "(0: speakers only; in a fleet, an origin that listeners never "
                                "reach); beyond it listeners are sent to HLS")
    media_fanout: Literal["batched", "tasks"] = Field(
        "batched", description="how a media node sends the mix to its listeners: batched (one "
        "loop per packet for all of a Space's listeners) or tasks (aiortc's sender task per listener)")
    media_ice_servers: list[str] = Field(
        default_factory=list, description='STUN/TURN URLs for the media node, as JSON: ["stun:host:3478"]'
    )
    media_host_addresses: list[str] = Field(
        default_factory=lambda: ["127.0.0.1"],
        description="local addresses the media node offers as ICE candidates, as JSON",
    )
    recording_segment_seconds: float = Field(
        10.0, gt=0, description="length of each recording file: a crash loses at most one"
    )
    hls: Literal["on-demand", "always", "off"] = Field(
        "on-demand", description="when a Space's origin packages its mix as LL-HLS: on-demand "
        "(from the first playlist request or listener sent there), always (every live Space), off")
    hls_dir: Path | None = Field(
        None, description="where the origin writes HLS and the API reads it (default: "
        "data_dir/hls; shared like the recordings when they are separate processes)")
    hls_above: int | None = Field(
        None, ge=0, description="a Space with this many WebRTC listeners sends new listeners "
        "to HLS (default: only when the media nodes are full)")
    hls_linger_seconds: float = Field(
        10.0, ge=0, description="how long an ended Space's HLS stays readable (its playlists "
        "then end with EXT-X-ENDLIST) before its files are dropped")
    hls_cache_url: str | None = Field(
        None, description="base URL of the HTTP cache (nginx, a CDN) in front of the HLS "
        "paths: the overflow Link points there (default: this server)")
    read_cache_seconds: float = Field(
        5.0, ge=0, le=60, description="how long an API process answers the listing, a Space "
        "and a feed from memory while the views have not moved (listener counts may lag this "
        "much); 0: off")
    feed_reads: Literal["by-reader", "join"] = Field(
        "by-reader", description="how a feed is read: by-reader (from the followed hosts for "
        "most readers, from the live Spaces for readers who follow hundreds) or join (always "
        "from the followed hosts: the plain read-time join)")
    retention_days: float = Field(
        30.0, ge=0, description="recordings (and transcripts) of ended Spaces are kept this long"
    )
    stt_engine: str | None = Field(
        None, description='another local speech-to-text engine, "package.module:Class" '
        "(default: pocketsphinx)"
    )
    stt_model: str | None = Field(None, description="model path handed to the engine")
    transcription_slots: int = Field(4, ge=1, description="utterances transcribed at once per media node")
    max_body_bytes: int = Field(65_536, ge=1024, description="largest request body (then 413)")
    metrics_token: str | None = Field(
        None, description="operators' bearer token for /metrics from other machines")
    metrics_from_loopback: bool = Field(
        True, description="/metrics answers requests from 127.0.0.1 and ::1 without a token")
    media_max_rooms: int = Field(1_000, ge=1, description="Spaces one media node carries at once")
    media_max_sessions: int = Field(5_000, ge=1, description="audio sessions one media node carries")
    audio_offers_per_second: float = Field(
        2.0, gt=0, description="sustained audio offers (publish or listen) per caller and per address")
    audio_offer_burst: int = Field(30, ge=1, description="audio offers at once before 429")
    reactions_per_second: float = 5.0
    reaction_burst: int = 20
    space_reactions_per_second: float = Field(
        50.0, gt=0, description="reactions per Space sent on one by one (to Kafka); the rest "
        "are only counted on the stream")
    notification_batch: int = Field(
        5_000, ge=1, description="notifications the notifier writes in one transaction (a "
        "launch's followers are written this many at a time)")
    notification_pause: float = Field(
        0.5, ge=0, le=10, description="after each batch the notifier waits this many times "
        "as long as the batch took, leaving the command path more of the cores (a 1M fan-out "
        "takes 1.5 times as long with 0.5)")
    webhooks_allow_private: bool = Field(
        False, description="webhooks may go to loopback, private and reserved addresses "
        "(tests, or endpoints on the operator's own network)")
    webhook_retry_seconds: float = Field(
        1.0, gt=0, description="first wait before a failed webhook delivery is tried again; "
        "each next wait doubles, up to an hour")
    webhook_give_up_hours: float = Field(
        24.0, gt=0, description="a delivery still failing this long after its first attempt is "
        "given up, and the Space's next events go on")
    webhook_timeout_seconds: float = Field(5.0, gt=0, description="how long one delivery may take")
    database_url: str | None = Field(
        None, description="postgresql://user:password@host:port/db: events and views in PostgreSQL"
    )
    database_pool_size: int = 20
    kafka_bootstrap: str | None = Field(
        None, description="host:port of Kafka: events flow to the views through Kafka"
    )
    kafka_topic: str = "spaces.events"
    kafka_partitions: int = 3
    kafka_live_prefix: str = Field(
        "spaces.", description="presence and reactions go to <prefix>presence and <prefix>reactions"
    )
    projection_group: str = "spaces-projections"
    worker_id: str | None = Field(
        None, description="stable name of this projection worker: a restarted worker with "
        "the same name takes its partitions back at once (Kafka static membership)"
    )
    run_workers: bool = Field(
        True, description="with PostgreSQL: feed the views (projections, or with Kafka the relay "
        "and a projection worker) inside `spaces serve`; false leaves it to `spaces project`"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.kafka_bootstrap and not self.database_url:
            raise ValueError("SPACES_KAFKA_BOOTSTRAP needs SPACES_DATABASE_URL: the relay reads "
                             "PostgreSQL's notification log")
        if self.media_fleet and not self.database_url:
            raise ValueError("SPACES_MEDIA_FLEET needs SPACES_DATABASE_URL: the nodes register "
                             "in PostgreSQL")
        if self.media_fleet and self.media_url:
            raise ValueError("SPACES_MEDIA_FLEET and SPACES_MEDIA_URL exclude each other: the "
                             "fleet says where each Space's audio goes")
        if self.oidc_issuer:
            from infrastructure.oidc import is_secure_url

            if not self.oidc_audience:
                raise ValueError("SPACES_OIDC_ISSUER needs SPACES_OIDC_AUDIENCE: the aud its "
                                 "tokens carry for this server (often its client id)")
            if not is_secure_url(self.oidc_issuer):
                raise ValueError("SPACES_OIDC_ISSUER is an https URL (http only on this machine)")
        if set(self.oidc_roles) - {"user", "auditor", "operator"}:
            raise ValueError('SPACES_OIDC_ROLES are some of "user", "auditor", "operator"')
        if self.processes > 1 and not self.database_url:
            raise ValueError("Several server processes need SPACES_DATABASE_URL: the embedded "
                             "default keeps its views in its one process")
        return self

    @property
    def node_id(self) -> str:
        return self.media_node_id or f"{self.host}-{self.port}".replace(".", "_").replace(":", "_")

    @property
    def public_url(self) -> str:
        return self.media_public_url or f"http://{self.host}:{self.port}"

    @property
    def recordings(self) -> Path:
        return self.recordings_dir or self.data_dir / "recordings"

    @property
    def hls_root(self) -> Path:
        return self.hls_dir or self.data_dir / "hls"

    @property
    def topology(self) -> Topology:
        if not self.database_url:
            return Topology.EMBEDDED
        return Topology.KAFKA if self.kafka_bootstrap else Topology.POSTGRES

    @property
    def feeds_views(self) -> bool:
        """Whether `spaces serve` feeds the views itself (always, on the embedded default)."""
        return self.run_workers or self.topology is Topology.EMBEDDED
