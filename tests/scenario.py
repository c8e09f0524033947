"""A scripted set of commands, and the views it should produce, in a form that does not
depend on generated ids: the same script on two systems must give equal results."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from projections.feed import feed
from projections.inbox import inbox
from projections.moderation import moderation_log
from projections.spaces import SpaceQueries

TOMORROW = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)  # the same in both systems of a run


def play(app: Any, rounds: int = 1) -> None:
    host, fan, guest, troll, other = (app.register_account(h).id
                                      for h in ("host", "fan", "guest", "troll", "other"))
    app.follow(fan, host)
    app.follow(fan, other)
    app.follow(host, fan)
    for round_ in range(rounds):
        morning = app.create_space(host, f"Morning {round_}", "following").id
        app.launch(morning, host)
        app.invite(morning, host, guest)
        app.accept_invitation(morning, guest)
        app.unmute(morning, guest, guest)
        app.request_to_speak(morning, fan)
        app.grant_speaker(morning, host, fan)
        app.mute_speaker(morning, host, guest)
        app.report_user(morning, fan, troll, "spam links")
        app.remove_user(morning, host, troll, "spam")
        app.switch(morning, host, transcripts=True, recording=True)
        evening = app.create_space(host, f"Evening {round_}").id
        app.invite(evening, host, guest)
        app.launch(evening, host)
        app.block_from_space(evening, host, troll, "again")
        app.revoke_speaker(morning, host, fan)
        app.end(morning, host)
        app.create_space(host, f"Tomorrow {round_}",
                         scheduled_for=TOMORROW + timedelta(hours=round_))
        shown = app.create_space(other, f"Other {round_}").id
        app.launch(shown, other)
        app.unblock(host, troll)
    app.unfollow(fan, other)


def views_of(views: Any) -> dict[str, Any]:
    """The read models with ids replaced by titles and handles, positions by order."""
    handles = {r["id"]: r["handle"] for r in views.rows("SELECT id, handle FROM accounts")}
    titles = {r["id"]: r["title"] for r in views.rows("SELECT id, title FROM spaces")}
    name = {**handles, **titles, None: None}
    queries = SpaceQueries(views)
    fan = next(i for i, h in handles.items() if h == "fan")
    guest = next(i for i, h in handles.items() if h == "guest")

    def space(row: dict[str, Any]) -> tuple:
        return (row["title"], row["state"], row["host_handle"], row["transcripts"],
                row["recording"], row["scheduled_for"], row["speaker_count"])

    return {
        "listing": [space(r) for r in queries.live(100, None)],
        "feed": [space(r) for r in feed(views, fan, 100)],
        "spaces": sorted(space(r) for r in views.rows(
            "SELECT s.*, a.handle AS host_handle, (SELECT COUNT(*) FROM stage st "
            "WHERE st.space_id = s.id) AS speaker_count FROM spaces s "
            "LEFT JOIN accounts a ON a.id = s.host_id")),
        "stages": {title: [(s["handle"], s["muted"]) for s in queries.stage(i)]
                   for i, title in titles.items()},
        "requests": {title: [r["handle"] for r in queries.speak_requests(i)]
                     for i, title in titles.items()},
        "inbox": sorted(r["title"] for r in inbox(views, guest)),
        "moderation": [(name[e["space_id"]], e["action"], name[e["actor_id"]],
                        name[e["target_id"]], e["reason"])
                       for e in moderation_log(views, space_id=None, user_id=None, since=None,
                                               after=None, limit=10_000)],
        "follows": sorted((name[r["follower_id"]], name[r["followee_id"]])
                          for r in views.rows("SELECT * FROM follows")),
    }
