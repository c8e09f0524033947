"""Request and response bodies of the v1 HTTP contract."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SpeakerPolicy = Literal["everyone", "following", "invited"]
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


class NewSpace(Body):
    title: str = Field(min_length=1, max_length=120)
    speaker_policy: SpeakerPolicy = "everyone"
    transcripts: bool = False
    recording: bool = False
    scheduled_for: AwareDatetime | None = None


class RemovalDone(Done):
    note: str | None = Field(None, description="what the removal does not cover on this server")


class SpaceCreated(Done):
    state: str
    link: str


class SpaceChanges(Body):
    transcripts: bool | None = None
    recording: bool | None = None
    scheduled_for: AwareDatetime | None = None


class UserRef(Body):
    user_id: UUID


class Removal(UserRef):
    reason: str | None = Field(None, max_length=500)


class Report(UserRef):
    reason: str = Field(min_length=1, max_length=500)


class Reaction(Body):
    emoji: Emoji


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
    speak_requests: list[Person] | None = Field(None, description="shown to the host only")
    open_invitations: list[UUID] | None = Field(None, description="shown to the host only")


class SpacePage(BaseModel):
    items: list[SpaceSummary]
    next_cursor: int | None


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
