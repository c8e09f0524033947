"""One behavioural test case for the application, run on every event store it supports."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from application.spaces import SpacesApplication
from domain.errors import NotAllowed, NotFound, RuleBroken
from infrastructure.event_store import event_store_env
from infrastructure.log_follower import LogFollower
from infrastructure.settings import Settings


class ApplicationBehaviour:
    """Subclasses say which store; every test here runs on each of them."""

    @pytest.fixture(params=["plain", "grouped"])
    def app(self, tmp_path, request):
        application = SpacesApplication(self.env(tmp_path), group_commit=request.param == "grouped")
        yield application
        application.close()

    def env(self, tmp_path) -> dict[str, str]:
        raise NotImplementedError

    def accounts(self, app, *handles):
        return [app.register_account(h).id for h in handles]

    def test_a_space_lives_and_ends(self, app):
        (host,) = self.accounts(app, "host")
        space_id = app.create_space(host, "Show", "everyone").id
        app.launch(space_id, host)
        app.end(space_id, host)
        assert app.space(space_id).state == "ended"
        assert [type(e).__name__ for e in app.space_history(space_id)] == [
            "SpaceCreated", "SpaceLaunched", "SpaceEnded"]

    def test_positions_increase_with_every_command(self, app):
        (host,) = self.accounts(app, "host")
        created = app.create_space(host, "Show")
        launched = app.launch(created.id, host)
        assert launched.position > created.position == app.position() - 1

    def test_handles_are_unique_regardless_of_case(self, app):
        self.accounts(app, "Ada")
        with pytest.raises(RuleBroken, match="taken"):
            app.register_account("ada")

    def test_unknown_spaces_and_accounts_are_not_found(self, app):
        (host,) = self.accounts(app, "host")
        with pytest.raises(NotFound):
            app.launch(host, host)  # an account id is not a Space id
        space_id = app.create_space(host, "Show").id
        with pytest.raises(NotFound):
            app.invite(space_id, host, space_id)

    def test_following_decides_who_may_ask_under_the_following_policy(self, app):
        host, friend, stranger = self.accounts(app, "host", "friend", "stranger")
        app.follow(host, friend)
        space_id = app.create_space(host, "Friends", "following").id
        app.launch(space_id, host)
        app.request_to_speak(space_id, friend)
        with pytest.raises(NotAllowed):
            app.request_to_speak(space_id, stranger)
        app.unfollow(host, friend)
        assert not app.follows(host, friend)

    def test_a_block_from_a_space_keeps_the_user_out_of_every_space_of_the_host(self, app):
        host, troll = self.accounts(app, "host", "troll")
        first = app.create_space(host, "One").id
        app.launch(first, host)
        app.grant_speaker(first, host, troll)
        app.block_from_space(first, host, troll, "abuse")
        assert troll not in app.space(first).stage
        second = app.create_space(host, "Two").id
        app.launch(second, host)
        with pytest.raises(NotAllowed):
            app.request_to_speak(second, troll)
        with pytest.raises(RuleBroken):
            app.grant_speaker(second, host, troll)
        app.unblock(host, troll)
        app.grant_speaker(second, host, troll)

    def test_a_scheduled_space_keeps_its_start(self, app):
        (host,) = self.accounts(app, "host")
        start = datetime.now(timezone.utc) + timedelta(days=1)
        space_id = app.create_space(host, "Later", scheduled_for=start).id
        assert app.space(space_id).scheduled_for == start

    def test_racing_grants_for_the_last_seat_never_make_eleven_speakers(self, app):
        host, *people = self.accounts(app, "host", *[f"p{i}" for i in range(16)])
        space_id = app.create_space(host, "Race").id
        app.launch(space_id, host)
        for speaker in people[:8]:
            app.grant_speaker(space_id, host, speaker)
        contenders = people[8:]
        start = threading.Barrier(len(contenders))
        results: list[str] = []

        def grant(user):
            start.wait()
            try:
                app.grant_speaker(space_id, host, user)
                results.append("granted")
            except RuleBroken:
                results.append("full")
            except Exception as error:  # say what went wrong rather than lose a result
                results.append(f"{type(error).__name__}: {error}")

        threads = [threading.Thread(target=grant, args=(u,)) for u in contenders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == ["full"] * (len(contenders) - 1) + ["granted"]
        assert len(app.space(space_id).stage) == 10


class SharedStoreBehaviour(ApplicationBehaviour):
    """Two processes on one store: each caches aggregates and follows the other's events."""

    @pytest.fixture
    def other(self, app, tmp_path):
        application = SpacesApplication(self.env(tmp_path), group_commit=True)
        yield application
        application.close()

    @staticmethod
    def followed(app):
        follower = LogFollower(app)
        follower.subscribe(app.cache.follow)
        return follower

    def test_the_store_feed_hands_on_saves_made_here_without_reading_them_back(self, app, other):
        follower = self.followed(app)
        app.saved_listeners.append(follower.offer)  # what start() does, without the thread
        seen, reads = [], []
        follower.subscribe(lambda batch: seen.extend(n.id for n in batch))
        select = app.recorder.select_notifications
        app.recorder.select_notifications = lambda **kw: reads.append(kw) or select(**kw)
        self.accounts(app, "here")
        follower.step()
        assert (seen, reads) == (list(range(1, app.position() + 1)), [])
        self.accounts(other, "elsewhere")
        follower.step()
        assert seen == list(range(1, app.position() + 1)) and reads

    def test_a_block_made_elsewhere_holds_here_once_followed(self, app, other):
        host, troll = self.accounts(app, "host", "troll")
        space_id = app.create_space(host, "Show").id
        app.launch(space_id, host)
        follower = self.followed(app)
        app.report_user(space_id, troll, host, "first")  # caches: the block edge does not exist
        other.block(host, troll)
        follower.step()
        with pytest.raises(NotAllowed):
            app.report_user(space_id, troll, host, "again")

    def test_a_space_changed_elsewhere_is_judged_on_its_latest_version(self, app, other):
        host, *people = self.accounts(app, "host", *[f"p{i}" for i in range(10)])
        space_id = app.create_space(host, "Race").id
        app.launch(space_id, host)
        for speaker in people[:8]:
            app.grant_speaker(space_id, host, speaker)  # this process caches the Space
        other.grant_speaker(space_id, host, people[8])  # unseen here: no follower runs
        with pytest.raises(RuleBroken):
            app.grant_speaker(space_id, host, people[9])  # conflict, fresh state, full
        assert len(app.space(space_id).stage) == 10


class TestInMemoryStore(ApplicationBehaviour):
    def env(self, tmp_path):
        return event_store_env(Settings(event_store="memory"))


class TestSQLiteStore(SharedStoreBehaviour):
    def env(self, tmp_path):
        return event_store_env(Settings(event_store="sqlite", data_dir=tmp_path))


class TestPostgresStore(SharedStoreBehaviour):
    @pytest.fixture(autouse=True)
    def _database(self, database_url):
        self.database_url = database_url

    def env(self, tmp_path):
        return event_store_env(Settings(database_url=self.database_url))
