"""Every rule of the Space aggregate (DESIGN section 1), on the aggregate alone."""

from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from domain.errors import InvalidInput, NotAllowed, RuleBroken, SpaceHasEnded
from domain.space import Space

HOST = uuid4()
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def new_space(policy: str = "everyone", **kwargs) -> Space:
    return Space.create(HOST, "Morning show", policy, **kwargs)


def live_space(policy: str = "everyone", **kwargs) -> Space:
    space = new_space(policy, **kwargs)
    space.launch(HOST)
    return space


def events_of(space: Space) -> list[str]:
    return [type(e).__name__ for e in space.collect_events()]


# -- creation and lifecycle ----------------------------------------------------------------

def test_a_new_space_has_its_host_on_stage_muted_and_switches_off():
    space = new_space()
    assert space.state == "created"
    assert space.stage == [HOST] and space.muted == {HOST}
    assert not space.transcripts and not space.recording
    assert events_of(space) == ["SpaceCreated"]


def test_switches_asked_for_at_creation_are_recorded_as_their_own_events():
    space = new_space(transcripts=True, recording=True)
    assert space.transcripts and space.recording
    assert events_of(space) == ["SpaceCreated", "TranscriptsSwitched", "RecordingStarted"]


@pytest.mark.parametrize("title", ["", "   ", "x" * 121])
def test_a_title_is_required_and_bounded(title):
    with pytest.raises(InvalidInput):
        Space.create(HOST, title)


@pytest.mark.parametrize("character", ["\u202e", "\u200b", "\x00", "\n", "\ud800", "\u2066"])
def test_titles_and_reasons_refuse_control_invisible_and_direction_changing_characters(character):
    with pytest.raises(InvalidInput, match=f"U\\+{ord(character):04X}"):
        Space.create(HOST, f"Morning{character}show")
    space = live_space()
    guest = uuid4()
    for command in (lambda: space.remove_user(HOST, guest, f"sp{character}am"),
                    lambda: space.report_user(guest, HOST, f"ru{character}de", actor_is_blocked=False),
                    lambda: space.block_user(HOST, guest, f"x{character}y", already_blocked=False)):
        with pytest.raises(InvalidInput, match="direction-changing"):
            command()
    assert Space.create(HOST, "Café 🎙️ — שלום").title == "Café 🎙️ — שלום"  # any visible script


def test_a_schedule_has_a_time_zone_and_stays_within_the_horizon():
    space = new_space()
    with pytest.raises(InvalidInput, match="time zone"):
        space.schedule(HOST, datetime(2026, 11, 25, 12, 0), now=NOW)
    with pytest.raises(InvalidInput, match="at most 30 days"):
        space.schedule(HOST, NOW + timedelta(days=30, seconds=1), now=NOW)
    far = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=23, minutes=59)))
    with pytest.raises(InvalidInput, match="at most 2 days"):
        space.schedule(HOST, far, now=NOW, horizon=timedelta(days=2))
    space.schedule(HOST, NOW + timedelta(days=30), now=NOW)


def test_an_unknown_speaker_policy_is_refused():
    with pytest.raises(InvalidInput):
        Space.create(HOST, "t", "friends")


def test_launch_goes_live_once():
    space = live_space()
    assert space.state == "live"
    with pytest.raises(RuleBroken):
        space.launch(HOST)


def test_only_the_host_launches_switches_and_ends():
    space = new_space()
    someone = uuid4()
    for command in (
        lambda: space.launch(someone),
        lambda: space.end(someone),
        lambda: space.switch_transcripts(someone, True),
        lambda: space.start_recording(someone),
        lambda: space.invite(someone, uuid4(), user_is_blocked=False),
        lambda: space.grant_speaker(someone, uuid4(), user_is_blocked=False),
        lambda: space.remove_user(someone, uuid4()),
        lambda: space.block_user(someone, uuid4(), already_blocked=False),
        lambda: space.schedule(someone, NOW + timedelta(hours=1), now=NOW),
    ):
        with pytest.raises(NotAllowed):
            command()


def test_a_space_can_be_scheduled_in_the_future_only_before_it_starts():
    space = new_space()
    with pytest.raises(InvalidInput):
        space.schedule(HOST, NOW - timedelta(minutes=1), now=NOW)
    space.schedule(HOST, NOW + timedelta(hours=1), now=NOW)
    assert space.scheduled_for == NOW + timedelta(hours=1)
    space.launch(HOST)
    with pytest.raises(RuleBroken):
        space.schedule(HOST, NOW + timedelta(hours=2), now=NOW)


def test_nothing_but_reads_works_on_an_ended_space():
    space = live_space()
    speaker = uuid4()
    space.grant_speaker(HOST, speaker, user_is_blocked=False)
    space.end(HOST)
    assert space.state == "ended"
    for command in (
        lambda: space.launch(HOST),
        lambda: space.end(HOST),
        lambda: space.invite(HOST, uuid4(), user_is_blocked=False),
        lambda: space.grant_speaker(HOST, uuid4(), user_is_blocked=False),
        lambda: space.revoke_speaker(HOST, speaker),
        lambda: space.mute_speaker(HOST, speaker),
        lambda: space.unmute(speaker, speaker),
        lambda: space.remove_user(HOST, speaker),
        lambda: space.report_user(speaker, HOST, "rude", actor_is_blocked=False),
        lambda: space.block_user(HOST, speaker, already_blocked=False),
        lambda: space.switch_transcripts(HOST, True),
        lambda: space.request_to_speak(uuid4(), actor_is_blocked=False, host_follows_actor=True),
    ):
        with pytest.raises(SpaceHasEnded):
            command()


# -- the stage -----------------------------------------------------------------------------

def test_the_stage_holds_ten_speakers_with_the_host():
    space = live_space()
    for _ in range(9):
        space.grant_speaker(HOST, uuid4(), user_is_blocked=False)
    assert len(space.stage) == 10
    with pytest.raises(RuleBroken, match="full"):
        space.grant_speaker(HOST, uuid4(), user_is_blocked=False)


def test_the_stage_limit_is_a_setting():
    space = Space.create(HOST, "small", stage_limit=2)
    space.grant_speaker(HOST, uuid4(), user_is_blocked=False)
    with pytest.raises(RuleBroken):
        space.grant_speaker(HOST, uuid4(), user_is_blocked=False)


def test_an_invitation_holds_no_seat_until_accepted():
    space = live_space()
    invitees = [uuid4() for _ in range(10)]
    for invitee in invitees:
        space.invite(HOST, invitee, user_is_blocked=False)
    assert len(space.stage) == 1
    for invitee in invitees[:9]:
        space.accept_invitation(invitee, actor_is_blocked=False)
    with pytest.raises(RuleBroken, match="full"):
        space.accept_invitation(invitees[9], actor_is_blocked=False)
    assert invitees[9] in space.invited


def test_at_most_ten_invitations_are_open_at_once():
    space = new_space()
    for _ in range(10):
        space.invite(HOST, uuid4(), user_is_blocked=False)
    with pytest.raises(RuleBroken, match="open invitations"):
        space.invite(HOST, uuid4(), user_is_blocked=False)


def test_inviting_twice_or_inviting_a_speaker_is_refused():
    space = new_space()
    guest = uuid4()
    space.invite(HOST, guest, user_is_blocked=False)
    with pytest.raises(RuleBroken):
        space.invite(HOST, guest, user_is_blocked=False)
    with pytest.raises(RuleBroken):
        space.invite(HOST, HOST, user_is_blocked=False)


def test_only_an_invitee_answers_and_declining_closes_the_invitation():
    space = new_space()
    guest = uuid4()
    with pytest.raises(RuleBroken):
        space.accept_invitation(guest, actor_is_blocked=False)
    space.invite(HOST, guest, user_is_blocked=False)
    space.decline_invitation(guest)
    assert guest not in space.invited
    with pytest.raises(RuleBroken):
        space.accept_invitation(guest, actor_is_blocked=False)


def test_accepted_invitees_join_the_stage_muted():
    space = live_space()
    guest = uuid4()
    space.invite(HOST, guest, user_is_blocked=False)
    space.accept_invitation(guest, actor_is_blocked=False)
    assert guest in space.muted


def test_speaker_policy_everyone_takes_requests_from_anyone():
    space = live_space("everyone")
    listener = uuid4()
    space.request_to_speak(listener, actor_is_blocked=False, host_follows_actor=False)
    assert listener in space.speak_requests
    with pytest.raises(RuleBroken):
        space.request_to_speak(listener, actor_is_blocked=False, host_follows_actor=False)


def test_speaker_policy_following_takes_requests_from_people_the_host_follows():
    space = live_space("following")
    with pytest.raises(NotAllowed):
        space.request_to_speak(uuid4(), actor_is_blocked=False, host_follows_actor=False)
    space.request_to_speak(uuid4(), actor_is_blocked=False, host_follows_actor=True)


def test_speaker_policy_invited_takes_no_requests():
    space = live_space("invited")
    with pytest.raises(NotAllowed):
        space.request_to_speak(uuid4(), actor_is_blocked=False, host_follows_actor=True)


def test_requests_to_speak_open_at_launch_and_not_for_speakers():
    space = new_space()
    with pytest.raises(RuleBroken):
        space.request_to_speak(uuid4(), actor_is_blocked=False, host_follows_actor=True)
    space.launch(HOST)
    with pytest.raises(RuleBroken):
        space.request_to_speak(HOST, actor_is_blocked=False, host_follows_actor=True)


def test_granting_a_requester_closes_the_request():
    space = live_space()
    listener = uuid4()
    space.request_to_speak(listener, actor_is_blocked=False, host_follows_actor=False)
    space.grant_speaker(HOST, listener, user_is_blocked=False)
    assert listener in space.stage and listener not in space.speak_requests
    with pytest.raises(RuleBroken):
        space.grant_speaker(HOST, listener, user_is_blocked=False)


def test_a_request_to_speak_is_withdrawn_by_its_asker_or_dismissed_by_a_moderator():
    space = live_space()
    asker, other = uuid4(), uuid4()
    space.request_to_speak(asker, actor_is_blocked=False, host_follows_actor=False)
    with pytest.raises(NotAllowed):
        space.withdraw_speak_request(other, asker)  # not theirs, and not a moderator
    space.withdraw_speak_request(asker, asker)
    with pytest.raises(RuleBroken, match="no request"):
        space.withdraw_speak_request(HOST, asker)
    space.request_to_speak(asker, actor_is_blocked=False, host_follows_actor=False)
    space.withdraw_speak_request(HOST, asker)
    assert asker not in space.speak_requests
    withdrawn = [e for e in space.collect_events() if type(e).__name__ == "SpeakRequestWithdrawn"]
    assert [e.withdrawn_by for e in withdrawn] == [asker, HOST]
    space.request_to_speak(asker, actor_is_blocked=False, host_follows_actor=False)  # again
    space.end(HOST)
    with pytest.raises(SpaceHasEnded):
        space.withdraw_speak_request(asker, asker)


def test_the_host_revokes_and_a_speaker_leaves_but_the_host_stays():
    space = live_space()
    one, two = uuid4(), uuid4()
    space.grant_speaker(HOST, one, user_is_blocked=False)
    space.grant_speaker(HOST, two, user_is_blocked=False)
    space.collect_events()
    space.revoke_speaker(HOST, one)
    space.revoke_speaker(two, two)
    assert events_of(space) == ["SpeakerRevoked", "SpeakerLeftStage"]
    with pytest.raises(RuleBroken):
        space.revoke_speaker(HOST, HOST)
    with pytest.raises(RuleBroken):
        space.revoke_speaker(HOST, one)
    three = uuid4()
    space.grant_speaker(HOST, three, user_is_blocked=False)
    with pytest.raises(NotAllowed):
        space.revoke_speaker(uuid4(), three)


def test_the_host_mutes_anyone_on_stage_and_speakers_mute_themselves():
    space = live_space()
    speaker = uuid4()
    space.grant_speaker(HOST, speaker, user_is_blocked=False)
    space.unmute(speaker, speaker)
    assert speaker not in space.muted
    space.mute_speaker(HOST, speaker)
    assert speaker in space.muted
    space.unmute(speaker, speaker)
    space.mute_speaker(speaker, speaker)
    assert speaker in space.muted
    with pytest.raises(NotAllowed):
        space.mute_speaker(uuid4(), speaker)
    with pytest.raises(RuleBroken):
        space.mute_speaker(HOST, uuid4())


def test_only_speakers_unmute_themselves_and_only_when_live():
    space = new_space()
    with pytest.raises(RuleBroken, match="live"):
        space.unmute(HOST, HOST)
    space.launch(HOST)
    speaker = uuid4()
    space.grant_speaker(HOST, speaker, user_is_blocked=False)
    with pytest.raises(NotAllowed):
        space.unmute(HOST, speaker)
    space.unmute(HOST, HOST)
    assert HOST not in space.muted


# -- moderation ----------------------------------------------------------------------------

def test_removed_users_leave_everything_and_cannot_rejoin():
    space = live_space()
    speaker, invitee = uuid4(), uuid4()
    space.grant_speaker(HOST, speaker, user_is_blocked=False)
    space.invite(HOST, invitee, user_is_blocked=False)
    space.remove_user(HOST, speaker, "spam")
    space.remove_user(HOST, invitee)
    assert speaker not in space.stage and invitee not in space.invited
    with pytest.raises(RuleBroken):
        space.grant_speaker(HOST, speaker, user_is_blocked=False)
    with pytest.raises(RuleBroken):
        space.invite(HOST, speaker, user_is_blocked=False)
    with pytest.raises(NotAllowed):
        space.request_to_speak(speaker, actor_is_blocked=False, host_follows_actor=True)
    with pytest.raises(NotAllowed):
        space.report_user(speaker, HOST, "unfair", actor_is_blocked=False)
    with pytest.raises(RuleBroken):
        space.remove_user(HOST, speaker)
    with pytest.raises(InvalidInput):
        space.remove_user(HOST, HOST)


def test_a_removal_carries_actor_target_and_reason():
    space = live_space()
    target = uuid4()
    space.collect_events()
    space.remove_user(HOST, target, "spam")
    (removed,) = space.collect_events()
    assert (removed.removed_by, removed.user_id, removed.reason) == (HOST, target, "spam")
    assert removed.timestamp is not None


def test_blocked_users_are_kept_out_while_the_block_lasts():
    space = live_space()
    user = uuid4()
    with pytest.raises(RuleBroken):
        space.grant_speaker(HOST, user, user_is_blocked=True)
    with pytest.raises(RuleBroken):
        space.invite(HOST, user, user_is_blocked=True)
    with pytest.raises(NotAllowed):
        space.request_to_speak(user, actor_is_blocked=True, host_follows_actor=True)
    space.grant_speaker(HOST, user, user_is_blocked=False)  # once unblocked


def test_blocking_takes_the_user_off_stage_and_records_it():
    space = live_space()
    user = uuid4()
    space.grant_speaker(HOST, user, user_is_blocked=False)
    space.collect_events()
    space.block_user(HOST, user, "abuse", already_blocked=False)
    assert user not in space.stage
    assert events_of(space) == ["UserBlocked"]
    with pytest.raises(RuleBroken):
        space.block_user(HOST, user, already_blocked=True)


def test_a_report_is_recorded_and_removes_nobody():
    space = live_space()
    speaker, listener = uuid4(), uuid4()
    space.grant_speaker(HOST, speaker, user_is_blocked=False)
    space.collect_events()
    space.report_user(listener, speaker, "  shouting ", actor_is_blocked=False)
    (report,) = space.collect_events()
    assert (report.reported_by, report.user_id, report.reason) == (listener, speaker, "shouting")
    assert speaker in space.stage
    with pytest.raises(InvalidInput):
        space.report_user(listener, listener, "me", actor_is_blocked=False)
    with pytest.raises(InvalidInput):
        space.report_user(listener, speaker, "  ", actor_is_blocked=False)


def test_switches_record_only_changes():
    space = new_space()
    space.collect_events()
    space.switch_transcripts(HOST, True)
    space.switch_transcripts(HOST, True)
    space.start_recording(HOST)
    space.stop_recording(HOST)
    space.stop_recording(HOST)
    assert events_of(space) == ["TranscriptsSwitched", "RecordingStarted", "RecordingStopped"]


def test_every_event_has_an_explicit_stable_topic():
    space = live_space(transcripts=True)
    for event in space.collect_events():
        assert event.TOPIC == f"spaces:{type(event).__name__}"


def test_who_may_listen_publish_and_read_is_decided_on_the_space():
    space, speaker, fan, troll = new_space(), uuid4(), uuid4(), uuid4()
    with pytest.raises(RuleBroken, match="goes live"):
        space.check_can_listen(fan, host_blocks_user=False)
    space.launch(HOST)
    space.grant_speaker(HOST, speaker, user_is_blocked=False)
    space.remove_user(HOST, troll)
    space.check_can_listen(None, host_blocks_user=False)  # someone without an account
    space.check_publisher(speaker)
    with pytest.raises(NotAllowed, match="stage"):
        space.check_publisher(fan)
    with pytest.raises(NotAllowed, match="removed"):
        space.check_can_listen(troll, host_blocks_user=False)
    with pytest.raises(NotAllowed, match="blocked"):
        space.check_can_react(fan, host_blocks_user=True)
    space.revoke_speaker(HOST, speaker)
    space.end(HOST)
    for check in (lambda: space.check_can_listen(fan, False), lambda: space.check_publisher(HOST),
                  lambda: space.check_reader(fan, False)):
        with pytest.raises(SpaceHasEnded):
            check()
    space.check_reader(HOST, False)
    space.check_reader(None, False, auditor=True)
    space.check_recording_reader(HOST, auditor=False)
    space.check_transcript_reader(speaker, auditor=False)  # once on the stage is enough
    with pytest.raises(NotAllowed, match="transcript"):
        space.check_transcript_reader(fan, auditor=False)
    with pytest.raises(NotAllowed, match="recording"):
        space.check_recording_reader(fan, auditor=False)
