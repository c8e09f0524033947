"""The invitation inbox: open invitations to speak, as direct messages to each invitee."""

from __future__ import annotations

from typing import Any

from application.ports import Cursor, Views
from domain.space import Space
from projections.base import Projection, handles, text


class InboxProjection(Projection):
    name = "inbox"
    tables = ("invitations",)
    schema = (
        "CREATE TABLE IF NOT EXISTS invitations (space_id TEXT NOT NULL, "
        "invitee_id TEXT NOT NULL, invited_by TEXT NOT NULL, invited_at TEXT NOT NULL, "
        "PRIMARY KEY (space_id, invitee_id))",
        "CREATE INDEX IF NOT EXISTS invitations_invitee ON invitations (invitee_id)",
    )

    @handles(Space.SpeakerInvited)
    def invited(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            "INSERT INTO invitations (space_id, invitee_id, invited_by, invited_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                text(event.originator_id), text(event.user_id),
                text(event.invited_by), text(event.timestamp),
            ),
        )

    @handles(
        Space.InvitationAccepted, Space.InvitationDeclined, Space.SpeakerGranted,
        Space.UserRemoved, Space.UserBlocked,
    )
    def closed(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            "DELETE FROM invitations WHERE space_id = ? AND invitee_id = ?",
            (text(event.originator_id), text(event.user_id)),
        )

    @handles(Space.SpaceEnded)
    def space_ended(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("DELETE FROM invitations WHERE space_id = ?", (text(event.originator_id),))


def inbox(views: Views, invitee_id: str) -> list[dict[str, Any]]:
    return views.rows(
        "SELECT i.space_id, s.title, s.state, i.invited_by, a.handle AS invited_by_handle, "
        "i.invited_at FROM invitations i JOIN spaces s ON s.id = i.space_id "
        "LEFT JOIN accounts a ON a.id = i.invited_by WHERE i.invitee_id = ? "
        "ORDER BY i.invited_at DESC",
        (invitee_id,),
    )


def open_invitees(views: Views, space_id: str) -> list[str]:
    return [
        row["invitee_id"]
        for row in views.rows("SELECT invitee_id FROM invitations WHERE space_id = ?", (space_id,))
    ]
