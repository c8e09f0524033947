"""Co-hosts, the handover and the pinned link, on the Space aggregate alone."""

from uuid import uuid4

import pytest

from domain.acts import MODERATION_IN_SPACES, act_of
from domain.errors import InvalidInput, NotAllowed, RuleBroken, SpaceHasEnded
from domain.space import Space
from tests.unit.test_space import HOST, events_of, live_space


def with_cohosts(*cohosts, **kwargs) -> Space:
    space = live_space(**kwargs)
    for cohost in cohosts:
        space.add_cohost(HOST, cohost, user_is_blocked=False)
    space.collect_events()
    return space


def test_a_space_stored_before_cohosts_existed_has_the_default_limit():
    created = Space.create(HOST, "Old show").collect_events()[0]
    del created.__dict__["cohost_limit"]  # as SpaceCreated was stored before
    space = created.mutate(None)
    assert (space.cohost_limit, space.cohosts, space.hosts, space.pinned) == (2, [], [HOST], None)


def test_naming_a_cohost_seats_them_and_records_who_named_them():
    space, cohost = live_space(), uuid4()
    space.collect_events()
    space.add_cohost(HOST, cohost, user_is_blocked=False)
    granted, added = space.collect_events()
    assert (type(granted).__name__, granted.granted_by) == ("SpeakerGranted", HOST)
    assert (type(added).__name__, added.user_id, added.added_by) == ("CohostAdded", cohost, HOST)
    assert space.cohosts == [cohost] and cohost in space.stage and cohost in space.muted
    speaker = uuid4()
    space.grant_speaker(HOST, speaker, user_is_blocked=False)
    space.collect_events()
    space.add_cohost(HOST, speaker, user_is_blocked=False)  # on the stage already: no new seat
    assert events_of(space) == ["CohostAdded"]


def test_at_most_two_cohosts_by_default_and_the_limit_is_recorded_at_creation():
    space = with_cohosts(uuid4(), uuid4())
    with pytest.raises(RuleBroken, match="at most 2 co-hosts"):
        space.add_cohost(HOST, uuid4(), user_is_blocked=False)
    wider = with_cohosts(uuid4(), uuid4(), uuid4(), cohost_limit=3)
    assert len(wider.cohosts) == 3
    with pytest.raises(RuleBroken, match="at most 0"):
        live_space(cohost_limit=0).add_cohost(HOST, uuid4(), user_is_blocked=False)


def test_a_cohost_needs_a_seat_and_may_not_be_removed_or_blocked():
    space = live_space(stage_limit=2)
    space.grant_speaker(HOST, uuid4(), user_is_blocked=False)
    with pytest.raises(RuleBroken, match="full"):
        space.add_cohost(HOST, uuid4(), user_is_blocked=False)
    space = live_space()
    troll = uuid4()
    space.remove_user(HOST, troll)
    with pytest.raises(RuleBroken, match="removed"):
        space.add_cohost(HOST, troll, user_is_blocked=False)
    with pytest.raises(RuleBroken, match="blocked"):
        space.add_cohost(HOST, uuid4(), user_is_blocked=True)
    with pytest.raises(InvalidInput):
        space.add_cohost(HOST, HOST, user_is_blocked=False)
    cohost = uuid4()
    space.add_cohost(HOST, cohost, user_is_blocked=False)
    with pytest.raises(RuleBroken, match="already"):
        space.add_cohost(HOST, cohost, user_is_blocked=False)


def test_a_cohost_moderates_speakers_and_listeners_and_is_named_as_the_actor():
    cohost, speaker, fan, troll = uuid4(), uuid4(), uuid4(), uuid4()
    space = with_cohosts(cohost)
    space.invite(cohost, fan, user_is_blocked=False)
    space.grant_speaker(cohost, speaker, user_is_blocked=False)
    space.unmute(speaker, speaker)
    space.mute_speaker(cohost, speaker)
    space.revoke_speaker(cohost, speaker)
    space.remove_user(cohost, troll, "spam")
    space.report_user(cohost, fan, "rude", actor_is_blocked=False)
    space.pin_link(cohost, "https://example.com/notes", "Notes")
    space.unpin_link(cohost)
    events = space.collect_events()
    assert [type(e).__name__ for e in events] == [
        "SpeakerInvited", "SpeakerGranted", "SpeakerUnmuted", "SpeakerMuted", "SpeakerRevoked", "UserRemoved",
        "UserReported", "LinkPinned", "LinkUnpinned"]
    moderation = [e for e in events if type(e).__name__ != "SpeakerUnmuted"]  # the speaker's own
    assert {getattr(e, act_of(e).actor) for e in moderation} == {cohost}


def test_a_cohost_does_not_act_on_the_host_or_another_cohost_nor_as_the_host():
    cohost, other = uuid4(), uuid4()
    space = with_cohosts(cohost, other)
    for target in (HOST, other):
        for command in (lambda: space.mute_speaker(cohost, target),
                        lambda: space.revoke_speaker(cohost, target),
                        lambda: space.remove_user(cohost, target),
                        lambda: space.grant_speaker(cohost, target, user_is_blocked=False),
                        lambda: space.invite(cohost, target, user_is_blocked=False)):
            with pytest.raises(NotAllowed, match="co-host cannot act"):
                command()
    for command in (lambda: space.end(cohost),
                    lambda: space.add_cohost(cohost, uuid4(), user_is_blocked=False),
                    lambda: space.remove_cohost(cohost, other),
                    lambda: space.hand_over(cohost, other, user_is_blocked=False),
                    lambda: space.block_user(cohost, uuid4(), already_blocked=False),
                    lambda: space.switch_transcripts(cohost, True),
                    lambda: space.start_recording(cohost)):
        with pytest.raises(NotAllowed, match="host"):
            command()
    with pytest.raises(InvalidInput, match="yourself"):
        space.remove_user(cohost, cohost)
    space.mute_speaker(cohost, cohost)  # their own microphone, as any speaker


def test_a_cohost_blocked_by_the_host_since_acts_no_more():
    cohost = uuid4()
    space = with_cohosts(cohost)
    for command in (lambda: space.grant_speaker(cohost, uuid4(), user_is_blocked=False,
                                                actor_is_blocked=True),
                    lambda: space.remove_user(cohost, uuid4(), actor_is_blocked=True),
                    lambda: space.pin_link(cohost, "https://a.example", "A", actor_is_blocked=True)):
        with pytest.raises(NotAllowed, match="blocked you"):
            command()


@pytest.mark.parametrize("how, by_self", [
    (lambda space, cohost: space.revoke_speaker(cohost, cohost), True),  # leaves the stage
    (lambda space, cohost: space.revoke_speaker(HOST, cohost), False),
    (lambda space, cohost: space.remove_user(HOST, cohost, "spam"), False),
    (lambda space, cohost: space.block_user(HOST, cohost, already_blocked=False), False),
    (lambda space, cohost: space.remove_cohost(cohost, cohost), True),  # steps down
    (lambda space, cohost: space.remove_cohost(HOST, cohost), False),
])
def test_a_cohost_off_the_stage_or_taken_out_or_let_go_is_a_cohost_no_more(how, by_self):
    cohost = uuid4()
    space = with_cohosts(cohost)
    how(space, cohost)
    removed = space.collect_events()[0]
    assert type(removed).__name__ == "CohostRemoved"
    assert (removed.user_id, removed.removed_by) == (cohost, cohost if by_self else HOST)
    assert space.cohosts == []
    with pytest.raises(NotAllowed):
        space.mute_speaker(cohost, uuid4())


def test_a_cohost_let_go_stays_on_the_stage_as_a_speaker():
    cohost = uuid4()
    space = with_cohosts(cohost)
    space.remove_cohost(HOST, cohost)
    assert cohost in space.stage
    with pytest.raises(RuleBroken, match="not a co-host"):
        space.remove_cohost(HOST, cohost)


def test_the_host_hands_the_space_to_a_cohost_and_becomes_one():
    cohost, other = uuid4(), uuid4()
    space = with_cohosts(other, cohost)
    space.hand_over(HOST, cohost, user_is_blocked=False)
    (handed,) = space.collect_events()
    assert (handed.from_host, handed.to_host) == (HOST, cohost)
    assert space.host_id == cohost and space.cohosts == [other, HOST]
    assert space.hosts == [HOST, cohost] and HOST in space.stage and cohost in space.stage
    space.check_host(cohost)
    with pytest.raises(NotAllowed):
        space.end(HOST)
    with pytest.raises(NotAllowed, match="co-host cannot act"):
        space.remove_user(HOST, cohost)  # the former host is a co-host like any other
    with pytest.raises(RuleBroken, match="host stays"):
        space.revoke_speaker(cohost, cohost)
    space.end(cohost)


def test_only_a_cohost_not_blocked_can_take_the_space_over():
    cohost = uuid4()
    space = with_cohosts(cohost)
    with pytest.raises(RuleBroken, match="make them a co-host first"):
        space.hand_over(HOST, uuid4(), user_is_blocked=False)
    with pytest.raises(RuleBroken, match="blocked"):
        space.hand_over(HOST, cohost, user_is_blocked=True)
    with pytest.raises(InvalidInput):
        space.hand_over(HOST, HOST, user_is_blocked=False)


def test_cohost_events_are_moderation_acts_with_explicit_topics():
    cohost = uuid4()
    space = live_space()
    space.collect_events()
    space.add_cohost(HOST, cohost, user_is_blocked=False)
    space.remove_cohost(HOST, cohost)
    space.add_cohost(HOST, cohost, user_is_blocked=False)
    space.hand_over(HOST, cohost, user_is_blocked=False)
    space.pin_link(cohost, "https://example.com", "Example")
    space.unpin_link(HOST)
    for event in space.collect_events():
        assert event.TOPIC == f"spaces:{type(event).__name__}"
        act = act_of(event)
        assert act.actor and getattr(event, act.actor) in (HOST, cohost)
    assert {Space.CohostAdded, Space.CohostRemoved, Space.HostHandedOver} <= set(MODERATION_IN_SPACES)


def test_nothing_of_cohosts_or_pins_works_on_an_ended_space():
    cohost = uuid4()
    space = with_cohosts(cohost)
    space.end(HOST)
    for command in (lambda: space.add_cohost(HOST, uuid4(), user_is_blocked=False),
                    lambda: space.remove_cohost(HOST, cohost),
                    lambda: space.hand_over(HOST, cohost, user_is_blocked=False),
                    lambda: space.pin_link(HOST, "https://example.com", "x"),
                    lambda: space.unpin_link(cohost)):
        with pytest.raises(SpaceHasEnded):
            command()


# -- the pinned link -------------------------------------------------------------------------

def test_one_link_is_pinned_at_a_time_and_pinning_it_again_changes_nothing():
    space = live_space()
    space.collect_events()
    space.pin_link(HOST, "https://example.com/a", "  First  ")
    space.pin_link(HOST, "https://example.com/a", "First")
    space.pin_link(HOST, "HTTP://example.com/b?x=1#y", "Second")
    assert (space.pinned.url, space.pinned.title) == ("HTTP://example.com/b?x=1#y", "Second")
    space.unpin_link(HOST)
    space.unpin_link(HOST)
    assert space.pinned is None
    assert events_of(space) == ["LinkPinned", "LinkPinned", "LinkUnpinned"]


@pytest.mark.parametrize("url, complaint", [
    ("javascript:alert(1)", "http"),
    ("JavaScript://example.com/%0Aalert(1)", "http"),
    ("data:text/html,<script>alert(1)</script>", "http"),
    ("file:///etc/passwd", "http"),
    ("ftp://example.com/x", "http"),
    ("//example.com/x", "http"),
    ("example.com", "http"),
    ("https://", "names a host"),
    ("https:///path", "names a host"),
    ("https://bank.example@evil.example/", "user name"),
    ("https://exa mple.com", "spaces"),
    (" https://example.com", "spaces"),
    ("https://example.com/\u202egnp.exe", "direction-changing"),
    ("https://example.com:99999/", "not a url"),
    ("http://[::1/", "not a url"),
    ("https://example.com/" + "a" * 2029, "2048"),
    ("", "http"),
])
def test_only_http_and_https_links_that_name_a_host_are_pinned(url, complaint):
    with pytest.raises(InvalidInput, match=f"(?i){complaint}"):
        live_space().pin_link(HOST, url, "Title")


@pytest.mark.parametrize("title", ["", "   ", "x" * 101, "a\u200bb", "line\nbreak"])
def test_a_pinned_links_title_is_visible_and_at_most_100_characters(title):
    with pytest.raises(InvalidInput):
        live_space().pin_link(HOST, "https://example.com", title)


def test_the_longest_link_and_title_are_pinned():
    space = live_space()
    url = "https://example.com/" + "a" * 2028
    space.pin_link(HOST, url, "é" * 100)
    assert len(space.pinned.url) == 2048 and space.pinned.title == "é" * 100
    space.pin_link(HOST, "https://[::1]:8443/ü?q=1", "IPv6")


def test_who_pins_is_the_host_or_a_cohost():
    space, fan = live_space(), uuid4()
    space.grant_speaker(HOST, fan, user_is_blocked=False)
    for command in (lambda: space.pin_link(fan, "https://example.com", "x"),
                    lambda: space.unpin_link(fan)):
        with pytest.raises(NotAllowed, match="host or a co-host"):
            command()
