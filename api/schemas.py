"""Request and response bodies of the v1 HTTP contract."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.json_schema import JsonDict

from infrastructure.webhooks import EVENT_TYPES

SpeakerPolicy = Literal["everyone", "following", "invited"]


def _written_out(value: object) -> object:
    """pydantic would read a number as seconds since 1970; the contract says ISO 8601."""
    if isinstance(value, (int, float)) or (
            isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+(\.\d*)?\s*", value)):
        raise ValueError("a time is written out in ISO 8601 with its zone, e.g. 2026-12-01T10:00:00Z")
    return value


Time = Annotated[AwareDatetime, BeforeValidator(_written_out)]
Emoji = Literal["👏", "❤️", "😂", "😮", "😢", "💯", "🔥", "🙏", "👍", "🎉"]


class Body(BaseModel):
    """A request body: a field it does not know is refused (422), not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Done(BaseModel):
    id: UUID
    position: int = Field(description="event store position reached; pass as ?after= to read your write")


class NewAccount(Body):
    handle: str = Field(pattern=r"^[A-Za-z0-9_]{1,30}$", examples=["ada"])


class AccountCreated(BaseModel):
    id: UUID
    handle: str
    token: str
    position: int


class AccountView(BaseModel):
    id: UUID
    handle: str


# Documented for clients (and schemathesis); the domain refuses the same characters.
VISIBLE: JsonDict = {"pattern": "^(?=.*\\S)[^\\ud800-\\udfff\\u0000-\\u001f\\u007f-\\u009f\\u200b-\\u200f\\u202a-\\u202e\\u2060\\u2066-\\u2069\\ufeff\\u061c]*$"}  # noqa: E501


class NewSpace(Body):
    title: str = Field(min_length=1, max_length=120, json_schema_extra=VISIBLE)
    speaker_policy: SpeakerPolicy = "everyone"
    transcripts: bool = False
    recording: bool = False
    scheduled_for: Time | None = None


class RemovalDone(Done):
    note: str | None = Field(None, description="what the removal does not cover on this server")


class SpaceCreated(Done):
    state: str
    link: str


class SpaceChanges(Body):
    transcripts: bool | None = None
    recording: bool | None = None
    scheduled_for: Time | None = None


class UserRef(Body):
    user_id: UUID


class Removal(UserRef):
    reason: str | None = Field(None, max_length=500, json_schema_extra=VISIBLE)


class Report(UserRef):
    reason: str = Field(min_length=1, max_length=500, json_schema_extra=VISIBLE)


class Reaction(Body):
    emoji: Emoji


class NewPin(Body):
    url: str = Field(min_length=1, max_length=2048, examples=["https://example.com/notes"],
                     json_schema_extra={"pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#@]+([/?#]\\S*)?$"},
                     description="an http:// or https:// URL naming a host, no user name or password")
    title: str = Field(min_length=1, max_length=100, json_schema_extra=VISIBLE)


class Pin(BaseModel):
    url: str
    title: str


class Person(BaseModel):
    id: UUID
    handle: str | None


class Speaker(Person):
    muted: bool


class SpaceSummary(BaseModel):
    id: UUID
    title: str
    state: str
    host: Person
    speaker_policy: SpeakerPolicy
    transcripts: bool
    recording: bool
    scheduled_for: datetime | None
    created_at: datetime
    launched_at: datetime | None
    ended_at: datetime | None
    speaker_count: int
    listener_count: int
    link: str


class SpaceView(SpaceSummary):
    speakers: list[Speaker]
    cohosts: list[Person] = Field(description="they moderate beside the host; each is on the stage")
    pin: Pin | None = Field(description="the link the host or a co-host pinned")
    speak_requests: list[Person] | None = Field(None, description="shown to the host and co-hosts only")
    open_invitations: list[UUID] | None = Field(None, description="shown to the host and co-hosts only")
    reminder_count: int = Field(0, description="people who asked to hear when it goes live")
    reminded: bool | None = Field(None, description="whether you set a reminder (signed in only)")
    asked_to_speak: bool | None = Field(None, description="whether you asked to speak and wait "
                                        "for an answer (signed in only)")
    following_host: bool | None = Field(None, description="whether you follow the host (signed in only)")
    host_go_live_notifications: bool | None = Field(
        None, description="whether you hear when the host goes live: you follow them and did not "
        "switch that off (signed in only)")


class SpacePage(BaseModel):
    items: list[SpaceSummary]
    next_cursor: int | None


class FeedPage(BaseModel):
    items: list[SpaceSummary]
    next_cursor: str | None


# Search words: no control characters, not only spaces (documented for clients and
# schemathesis, and checked with the same expression: api/routes/spaces.py).
NO_CONTROL = r"\x00-\x1f\x7f-\x9f\ufeff"
WORDS_PATTERN = rf"^[^{NO_CONTROL}]*[^\s{NO_CONTROL}][^{NO_CONTROL}]*$"


class Listener(BaseModel):
    id: UUID
    handle: str | None
    joined_at: datetime = Field(description="when they began listening (the latest, if more than once)")


class Roster(BaseModel):
    listener_count: int = Field(description="everyone listening now, on every media node, "
                                "with an account or without")
    handles: list[str] = Field(description="the handles of the few who began listening last "
                               "(up to 3): what everyone may see")
    items: list[Listener] | None = Field(None, description="to the host and co-hosts only: "
                                         "everyone listening with an account, newest first")
    next_cursor: str | None = Field(None, description="pass back as `cursor` for the next page "
                                    "of `items`")


class Invitation(BaseModel):
    space_id: UUID
    title: str
    state: str
    invited_by: Person
    invited_at: datetime


class HistoryEntry(BaseModel):
    version: int
    event: str
    occurred_at: datetime
    data: dict


class ModerationEntry(BaseModel):
    position: int
    space_id: UUID | None
    action: str
    actor_id: UUID
    target_id: UUID
    reason: str | None
    occurred_at: datetime


class ModerationPage(BaseModel):
    items: list[ModerationEntry]
    next_cursor: int | None


class SpaceRef(BaseModel):
    id: UUID
    title: str | None
    state: str | None = Field(description="created, live or ended: an ended Space's notifications say so")


class Notification(BaseModel):
    id: int = Field(description="the event store position of what caused it: stable, and the "
                    "order of the list (newest first)")
    kind: Literal["go_live", "invitation"]
    space: SpaceRef
    actor: Person = Field(description="the host who went live, or who invited you")
    created_at: datetime
    read: bool
    text: str


class NotificationPage(BaseModel):
    items: list[Notification]
    next_cursor: int | None
    unread_count: int


BigInt = Annotated[int, Field(ge=1, le=2**63 - 1, strict=True)]  # strict: true is not 1


class MarkRead(Body):
    up_to: int | None = Field(None, ge=0, le=2**63 - 1, strict=True,
                              description="marks read every notification whose id is at most this")
    ids: list[BigInt] = Field(default_factory=list, max_length=100,
                              description="and these, one by one")


class SpeakerTalk(BaseModel):
    id: UUID
    handle: str | None
    talk_seconds: float = Field(description="while the mix heard them talking")


class SpaceAnalytics(BaseModel):
    space_id: UUID
    launched_at: datetime | None
    ended_at: datetime | None
    duration_seconds: float
    peak_listeners: int = Field(description="the most listeners at once, on every media node")
    unique_listeners: int = Field(description="people with an account once each, plus each "
                                  "visit of someone without one")
    listen_minutes: float = Field(description="listeners times minutes, summed over the Space")
    speakers: list[SpeakerTalk] = Field(description="most talk first")
    reactions: dict[str, int] = Field(description="reactions by emoji")
    speak_requests: int
    removals: int
    blocks: int
    reports: int


# whsec_ and base64 of 24 to 65 bytes (the server takes 24 to 64)
SECRET_PATTERN = "^whsec_(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


class NewWebhook(Body):
    url: str = Field(min_length=1, max_length=2048, examples=["https://hooks.example.com/spaces"],
                     description="http:// or https://; public addresses only unless the server allows others")
    event_types: list[str] = Field(default_factory=lambda: ["*"], min_length=1, max_length=50,
                                   description="Space event names (SpaceLaunched, UserRemoved, …) or *",
                                   json_schema_extra={"items": {"enum": ["*", *EVENT_TYPES]}})
    secret: str | None = Field(None, max_length=200, description="whsec_ and base64 of 24 to 64 "
                               "bytes; generated when left out",
                               json_schema_extra={"pattern": SECRET_PATTERN})


class WebhookView(BaseModel):
    id: UUID
    url: str
    event_types: list[str]
    created_by: str
    created_at: datetime
    position: int = Field(description="the last event store position it has been given")
    active: bool


class WebhookCreated(WebhookView):
    secret: str = Field(description="signs every delivery (Standard Webhooks); shown only here")


class Delivery(BaseModel):
    webhook_id: str = Field(description="the webhook-id header: the same on every attempt")
    position: int
    space_id: UUID
    event_type: str
    state: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    first_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[Delivery]
    next_cursor: int | None


class Replay(Body):
    from_position: int = Field(ge=1, le=2**63 - 1, description="every event from this position on")
