"""The feed's checks, shared by the unit tests (SQLite views) and the integration tests
(PostgreSQL views): a reader who follows many hosts (their feed walks the Spaces) gets the
same pages as the plain join, and paging never skips or repeats a Space while others
launch and end between pages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from projections import feed as feed_module
from projections.feed import FeedCursor, feed


def check_feed_pages_hold_while_spaces_come_and_go(app, views, catch_up, monkeypatch) -> None:
    monkeypatch.setattr(feed_module, "MANY_FOLLOWS", 3)
    hosts = [app.register_account(f"feedhost{i}").id for i in range(5)]
    fan, light = app.register_account("feedfan").id, app.register_account("feedlight").id
    for host in hosts:
        app.follow(fan, host)
    for host in hosts[:2]:
        app.follow(light, host)
    soon = datetime.now(timezone.utc) + timedelta(days=1)
    live, upcoming = [], []
    for i, host in enumerate(hosts):
        for n in range(2):
            space = app.create_space(host, f"Live {i}.{n}").id
            app.launch(space, host)
            live.append(space)
        for n in range(2):  # two hosts share a start time: ties go by id
            upcoming.append(app.create_space(host, f"Later {i}.{n}",
                                             scheduled_for=soon + timedelta(hours=i // 2 + n)).id)
        gone = app.create_space(host, f"Over {i}")
        app.launch(gone.id, host)
        app.end(gone.id, host)
        app.create_space(host, f"Draft {i}")
    catch_up()

    everything = feed(views, str(fan), 100)
    assert everything == feed(views, str(fan), 100, plain=True)
    assert [r["id"] for r in everything[:len(live)]] == [str(s) for s in reversed(live)]
    assert {r["id"] for r in everything[len(live):]} == {str(s) for s in upcoming}
    starts = [(r["scheduled_for"], r["id"]) for r in everything[len(live):]]
    assert starts == sorted(starts)
    assert feed(views, str(light), 100) == feed(views, str(light), 100, plain=True)
    assert len(feed(views, str(light), 100)) == 8

    seen, after, page_number = [], None, 0
    while True:
        page = feed(views, str(fan), 3, after)
        seen += [r["id"] for r in page]
        if len(page) < 3:
            break
        after = FeedCursor.decode(FeedCursor.after(page[-1]).encode())
        page_number += 1
        if page_number == 1:  # between pages: one shown ends, one new goes live
            app.end(live[-1], hosts[-1])
            newer = app.create_space(hosts[0], "Newer").id
            app.launch(newer, hosts[0])
            catch_up()
    assert seen == [r["id"] for r in everything]
