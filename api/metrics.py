"""Prometheus metrics: command counts and latencies per route, and how far the views lag."""

from __future__ import annotations

import hmac
import ipaddress
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import Problem
from infrastructure.tokens import OPERATOR, BadToken
from projections.faults import stopped_projections

if TYPE_CHECKING:
    from api.bootstrap import System
    from application.ports import Views
    from media.node import MediaNode

CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


class Metrics:
    def __init__(self, system: System):
        self.registry = CollectorRegistry()
        self.commands = Counter("spaces_commands", "State-changing requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "spaces_command_seconds", "Time to answer a state-changing request",
            ["method", "route"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        Gauge("spaces_event_store_position", "Position of the newest stored event",
              registry=self.registry).set_function(system.app.position)
        Gauge("spaces_views_position", "Position the read models have processed",
              registry=self.registry).set_function(system.progress.position)
        Gauge("spaces_views_events_behind", "Stored events the read models have not processed",
              registry=self.registry).set_function(
            lambda: system.app.position() - system.progress.position())
        Gauge("spaces_views_seconds_behind", "Age of the oldest event the views have not processed",
              registry=self.registry).set_function(lambda: _seconds_behind(system))
        if (node := system.node) is not None:
            Gauge("spaces_transcribed_frames", "20 ms audio frames handed to speech engines",
                  registry=self.registry).set_function(lambda: node.transcribed_frames)
            Gauge("spaces_transcription_lag_seconds", "The most any speaker's captions lag behind",
                  registry=self.registry).set_function(lambda: max(
                      (t.lag for room in list(node.rooms.values())
                       for t in list(room.transcribers.values())), default=0.0))
            Gauge("spaces_media_listeners", "Listeners on this media node",
                  registry=self.registry).set_function(node.listeners)
            Gauge("spaces_media_spaces", "Spaces this media node carries audio for",
                  registry=self.registry).set_function(lambda: len(node.rooms))
            Gauge("spaces_media_edge_pulls", "Spaces whose mix this node pulls from their origin",
                  registry=self.registry).set_function(
                lambda: sum(1 for room in list(node.rooms.values()) if room.upstream))
            Gauge("spaces_media_packets_pulled", "Mix packets this node pulled from origins",
                  registry=self.registry).set_function(lambda: sum(
                      room.upstream.packets for room in list(node.rooms.values()) if room.upstream))
            Gauge("spaces_media_packets_dropped", "Packets dropped for listeners who fell behind",
                  registry=self.registry).set_function(lambda: sum(
                      s.track.dropped for s in list(node.sessions.values()) if s.track))
            self.registry.register(MediaQuality(node))
        self.registry.register(StoppedProjections(system.views))
        if system.settings.kafka_bootstrap:
            self.registry.register(KafkaLag(system))
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        children = self._children.get((method, route, status))
        if children is None:  # labels() is slow; each combination is looked up once
            children = self._children[(method, route, status)] = (
                self.commands.labels(method, route, str(status)), self.latency.labels(method, route))
        children[0].inc()
        children[1].observe(seconds)


class MediaQuality:
    """Each listener's loss and jitter (their receiver reports), each speaker's packets and
    how their losses were made good, and the FEC the mix is encoded with, per Space."""

    def __init__(self, node: MediaNode):
        self.node = node

    def collect(self):
        listener = ["space", "session", "role"]
        loss = GaugeMetricFamily("spaces_media_listener_loss_ratio",
                                 "Fraction of the mix a listener lately lost", labels=listener)
        lost = GaugeMetricFamily("spaces_media_listener_lost_packets",
                                 "Mix packets a listener lost in all", labels=listener)
        jitter = GaugeMetricFamily("spaces_media_listener_jitter_seconds",
                                   "Interarrival jitter a listener reports", labels=listener)
        for session in list(self.node.sessions.values()):
            if session.track is not None:
                key = [session.space_id, session.id, session.role]
                loss.add_metric(key, session.reception.loss)
                lost.add_metric(key, session.reception.lost)
                jitter.add_metric(key, session.reception.jitter)
        speaker = GaugeMetricFamily("spaces_media_speaker_packets",
                                    "A speaker's packets: received, recovered from FEC, "
                                    "concealed, late, dropped", labels=["space", "speaker", "outcome"])
        fec = GaugeMetricFamily("spaces_media_fec_percent",
                                "Loss the mix's in-band FEC is sized for", labels=["space"])
        for room in list(self.node.rooms.values()):
            if room.upstream is None:
                fec.add_metric([room.space_id], room.mix.fec_percent)
            for user, source in list(room.mix.speakers.items()):
                for outcome, count in vars(source.playout.stats).items():
                    speaker.add_metric([room.space_id, user, outcome], count)
        yield from (loss, lost, jitter, speaker, fec)


class StoppedProjections:
    """1 for each projection stopped at an event it could not apply, with that position."""

    def __init__(self, views: Views):
        self.views = views

    def collect(self):
        stopped = GaugeMetricFamily("spaces_projection_stopped",
                                    "A projection stopped at an event it could not apply",
                                    labels=["projection", "position"])
        for fault in stopped_projections(self.views):
            stopped.add_metric([fault["projection"], str(fault["position"])], 1)
        yield stopped


class KafkaLag:
    """Relay lag, and per partition the lag of the projection worker that owns it."""

    def __init__(self, system: System):
        self.system = system

    def collect(self):
        progress = self.system.progress
        relay = progress.relay_position()
        yield GaugeMetricFamily("spaces_relay_position", "Position the relay has published",
                                value=relay)
        yield GaugeMetricFamily("spaces_relay_events_behind", "Stored events not yet on Kafka",
                                value=self.system.app.position() - relay)
        labels = ["partition", "worker"]
        offsets = GaugeMetricFamily("spaces_projection_offsets_behind",
                                    "Messages published but not applied", labels=labels)
        positions = GaugeMetricFamily("spaces_projection_positions_behind",
                                      "Event positions published but not applied", labels=labels)
        seconds = GaugeMetricFamily("spaces_projection_seconds_behind",
                                    "How long ago the worker last caught up with the relay",
                                    labels=labels)
        for p in progress.partitions():
            key = [str(p["partition"]), p["worker"] or "none"]
            behind = p["published_offset"] - p["applied_offset"]
            offsets.add_metric(key, behind)
            positions.add_metric(key, max(0, p["published_position"] - p["applied_position"]))
            seconds.add_metric(key, float(p["seconds_behind"] or 0) if behind > 0 else 0.0)
        yield from (offsets, positions, seconds)


def _seconds_behind(system: System) -> float:
    pending = system.app.recorder.select_notifications(
        start=system.progress.position(), limit=1, inclusive_of_start=False)
    if not pending:
        return 0.0
    stored_at = system.app.event_of(pending[0]).timestamp
    return max(0.0, (datetime.now(timezone.utc) - stored_at).total_seconds())


class MetricsMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in CHANGING:
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            scope["app"].state.metrics.observe(scope["method"], route, status,
                                               time.perf_counter() - started)


router = APIRouter(tags=["pages"])


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}, 401: {}, 403: {}})
def metrics(request: Request) -> Response:
    """Prometheus text format, for operators: requests from this machine's loopback
    addresses (unless SPACES_METRICS_FROM_LOOPBACK=false) or with the bearer token
    SPACES_METRICS_TOKEN."""
    _require_operator(request, request.app.state.system.settings)
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _require_operator(request: Request, settings: Any) -> None:
    given = request.headers.get("authorization", "")
    if settings.metrics_token and hmac.compare_digest(
            given.encode(), f"Bearer {settings.metrics_token}".encode()):
        return
    if _has_operator_token(request, given):
        return
    client = request.client.host if request.client else ""
    if settings.metrics_from_loopback and _is_loopback(client):
        return
    if not settings.metrics_token:
        raise Problem(403, "Metrics are for operators on this machine (loopback); set "
                      "SPACES_METRICS_TOKEN to read them from elsewhere.")
    raise Problem(401, "Send the operators' metrics token as a bearer token.",
                  {"WWW-Authenticate": "Bearer"})


def _has_operator_token(request: Request, authorization: str) -> bool:
    """A JWT with the operator role (an integrator's key may grant it, or the OIDC provider);
    this route runs in a worker thread, so the keys may be fetched."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or token.count(".") != 2:
        return False
    try:
        verified = request.app.state.system.tokens.verify(token.strip())
    except BadToken:
        return False
    return OPERATOR in verified.grants.roles


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
