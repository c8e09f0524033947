"""Every kind of event, with the most extreme values the domain accepts, through every
projection: hypothesis draws the values (any visible text at the longest lengths, times at
the far offsets and edges of the schedule horizon), one scenario makes every event type.
Run by tests/unit on SQLite and by tests/integration on PostgreSQL."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from application.spaces import SpacesApplication
from domain.errors import DomainError
from domain.links import MAX_LINK_TITLE_LENGTH, MAX_URL_LENGTH
from domain.people import HANDLE_PATTERN, handle_skeleton
from domain.space import MAX_TITLE_LENGTH, SCHEDULE_HORIZON, SPEAKER_POLICIES
from domain.text import DIRECTION_CHANGING, INVISIBLE, MAX_REASON_LENGTH
from projections.faults import stopped_projections
from projections.runner import ProjectionRunner, views_position

visible = st.characters(blacklist_categories=("Cc", "Cs"),
                        blacklist_characters=[chr(c) for c in INVISIBLE | DIRECTION_CHANGING])
titles = st.text(visible, min_size=1, max_size=MAX_TITLE_LENGTH).filter(str.strip)
reasons = st.text(visible, min_size=1, max_size=MAX_REASON_LENGTH).filter(str.strip)
offsets = st.builds(timezone, st.timedeltas(min_value=-timedelta(hours=23, minutes=59),
                                            max_value=timedelta(hours=23, minutes=59)))
ahead = st.one_of(st.just(SCHEDULE_HORIZON - timedelta(minutes=5)), st.just(timedelta(minutes=5)),
                  st.timedeltas(min_value=timedelta(minutes=5),
                                max_value=SCHEDULE_HORIZON - timedelta(minutes=5)))
handles = st.from_regex(HANDLE_PATTERN, fullmatch=True)
LINK_START = "https://example.com/"
in_urls = st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp"),
                        blacklist_characters=[chr(c) for c in INVISIBLE | DIRECTION_CHANGING])
urls = st.text(in_urls, max_size=MAX_URL_LENGTH - len(LINK_START)).map(LINK_START.__add__)
link_titles = st.text(visible, min_size=1, max_size=MAX_LINK_TITLE_LENGTH).filter(str.strip)

scenarios = st.fixed_dictionaries({
    "title": titles, "policy": st.sampled_from(SPEAKER_POLICIES),
    "ahead": ahead, "offset": offsets,
    "handles": st.lists(handles, min_size=5, max_size=5, unique_by=handle_skeleton),
    "reasons": st.lists(reasons, min_size=8, max_size=8),
    "url": urls, "link_title": link_titles,
})


def every_event(app: SpacesApplication, values: dict[str, Any]) -> None:
    """Accounts, follows, blocks, a Space through every stage and moderation event (co-hosts,
    handovers and the pinned link too), reminders before its launch, go-live switches, its end, read marks,
    retention, and an operator's decision; every value drawn from `values`."""
    host, guest, fan, troll, pest = (app.register_account(h).id for h in values["handles"])
    why = values["reasons"]
    scheduled_for = (datetime.now(timezone.utc) + values["ahead"]).astimezone(values["offset"])
    app.follow(fan, host)
    app.unfollow(fan, host)
    app.follow(fan, host)
    app.follow(host, fan)
    app.switch_go_live_notifications(fan, host, False)
    app.switch_go_live_notifications(fan, host, True)
    app.block(host, pest)
    app.unblock(host, pest)
    space = app.create_space(host, values["title"], values["policy"], transcripts=True,
                             recording=True, scheduled_for=scheduled_for).id
    app.switch(space, host, scheduled_for=scheduled_for + timedelta(minutes=1))
    app.set_reminder(space, fan)
    app.clear_reminder(space, fan)
    app.set_reminder(space, troll)
    app.launch(space, host)
    app.invite(space, host, guest)
    app.accept_invitation(space, guest)
    app.add_cohost(space, host, guest)
    app.pin_link(space, guest, values["url"], values["link_title"])
    app.hand_over(space, host, guest)
    app.hand_over(space, guest, host)
    app.remove_cohost(space, host, guest)
    app.unpin_link(space, host)
    app.pin_link(space, host, values["url"], values["link_title"])
    app.invite(space, host, troll)
    app.decline_invitation(space, troll)
    with suppress(DomainError):  # the speaker policy may not let the fan ask
        app.request_to_speak(space, fan)
    app.grant_speaker(space, host, fan)
    app.unmute(space, fan, fan)
    app.mute_speaker(space, host, fan)
    app.revoke_speaker(space, host, fan)
    app.revoke_speaker(space, guest, guest)  # leaves the stage
    app.report_user(space, fan, troll, why[0])
    app.remove_user(space, host, troll, why[1])
    app.block_from_space(space, host, pest, why[2])
    app.switch(space, host, transcripts=False, recording=False)
    app.end(space, host)
    app.mark_notifications_read(fan, app.position(), (app.position() + 1,))
    app.delete_recording(space, why[3])
    app.delete_transcript(space, why[4])
    app.skip_event("spaces", 1, why[5], why[6])


def check_every_projection_takes_every_event(views: Any, values: dict[str, Any]) -> None:
    app = SpacesApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        every_event(app, values)
        ProjectionRunner(app, views).rebuild()
        assert stopped_projections(views) == []
        assert views_position(views) == app.position()
        (row,) = views.rows("SELECT title, scheduled_for FROM spaces")
        assert row["title"] == values["title"].strip()
        assert row["scheduled_for"].endswith("+00:00")
    finally:
        app.close()
