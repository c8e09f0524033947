"""Real audio through the media node: aiortc speakers and listeners against `spaces serve`."""

from __future__ import annotations

import asyncio
import io
import time

import av
import httpx
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from tests.peers import Ears, ToneTrack, connect
from tests.support import Server, assert_problem, register, spaces

LOW, HIGH = 440.0, 1250.0


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, timeout=90))


async def listen_for(seconds: float) -> float:
    await asyncio.sleep(seconds)
    return time.monotonic()


def test_speakers_are_heard_by_listeners_and_the_domain_decides_who(server):
    http = server.start()
    host, guest, fan, troll, rude = (register(http, h) for h in ("host", "guest", "fan", "troll", "rude"))
    space = http.post("/v1/spaces", json={"title": "Tones"}, headers=host.auth).json()["id"]
    base = f"/v1/spaces/{space}"
    http.put(f"{base}/speakers/{guest.id}", headers=host.auth)

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as web:
            pc, _, early = await connect(web, f"{base}/audio/listen", fan.token)
            assert_problem(early, 409, "goes live")
            await pc.close()
            await web.post(f"{base}/launch", headers=host.auth)
            await web.post(f"{base}/speakers/{host.id}/unmute", headers=host.auth)
            host_pc, _, published = await connect(web, f"{base}/audio/publish", host.token, ToneTrack(LOW))
            assert published.status_code == 201, published.text
            assert published.headers["location"].startswith(f"{base}/audio/sessions/")
            assert "127.0.0.1" in published.text and "192.0.2" not in published.text
            fan_pc, fan_ears, listening = await connect(web, f"{base}/audio/listen", fan.token)
            assert listening.status_code == 201, listening.text
            troll_pc, troll_ears, _ = await connect(web, f"{base}/audio/listen", troll.token)
            rude_pc, rude_ears, _ = await connect(web, f"{base}/audio/listen", rude.token)

            # the host's tone reaches the listener
            start = await listen_for(0.5)
            heard = await listen_for(1.5)
            assert abs(fan_ears.dominant(start) - LOW) < 10
            assert fan_ears.level_at(LOW, start) > 0.1
            assert http.get(base).json()["listener_count"] == 3

            # a second speaker, still muted, is not mixed; unmuted, both are heard
            guest_pc, _, _ = await connect(web, f"{base}/audio/publish", guest.token, ToneTrack(HIGH))
            await asyncio.sleep(1.0)
            assert fan_ears.level_at(HIGH, heard) < 0.02
            await web.post(f"{base}/speakers/{guest.id}/unmute", headers=guest.auth)
            start = await listen_for(0.8)
            await listen_for(1.2)
            assert fan_ears.level_at(LOW, start) > 0.05 and fan_ears.level_at(HIGH, start) > 0.05

            # the host mutes the guest: gone within a second
            await web.post(f"{base}/speakers/{guest.id}/mute", headers=host.auth)
            after = await listen_for(1.0)
            await listen_for(0.8)
            assert fan_ears.level_at(HIGH, after) < 0.02 and fan_ears.level_at(LOW, after) > 0.05

            # removal disconnects the troll within a second, and they cannot come back;
            # a block from the Space does the same to the rude one
            for action, who, ears, pc, why in (("removals", troll, troll_ears, troll_pc, "removed"),
                                               ("blocks", rude, rude_ears, rude_pc, "blocked")):
                await web.post(f"{base}/{action}", json={"user_id": who.id}, headers=host.auth)
                acted_at = time.monotonic()
                await asyncio.wait_for(ears.ended.wait(), timeout=2.0)
                assert time.monotonic() - acted_at < 1.5
                again_pc, _, again = await connect(web, f"{base}/audio/listen", who.token)
                assert_problem(again, 403, why)
                for closing in (pc, again_pc):
                    await closing.close()

            # revoking the guest ends their publishing
            await web.post(f"{base}/speakers/{guest.id}/unmute", headers=guest.auth)
            await web.delete(f"{base}/speakers/{guest.id}", headers=host.auth)
            after = await listen_for(1.0)
            await listen_for(0.8)
            assert fan_ears.level_at(HIGH, after) < 0.02

            # the end of the Space ends everyone's audio within a second
            await web.post(f"{base}/end", headers=host.auth)
            await asyncio.wait_for(fan_ears.ended.wait(), timeout=2.0)
            for pc in (host_pc, fan_pc, guest_pc):
                await pc.close()

    run(scenario())


def test_speakers_hear_each_other_but_not_themselves(server):
    http = server.start()
    host, guest = register(http, "host"), register(http, "guest")
    space = http.post("/v1/spaces", json={"title": "Duet"}, headers=host.auth).json()["id"]
    base = f"/v1/spaces/{space}"
    http.post(f"{base}/launch", headers=host.auth)
    http.put(f"{base}/speakers/{guest.id}", headers=host.auth)
    for speaker in (host, guest):
        http.post(f"{base}/speakers/{speaker.id}/unmute", headers=speaker.auth)

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as web:
            host_pc, host_ears, _ = await connect(web, f"{base}/audio/publish", host.token,
                                                  ToneTrack(LOW), receive=1)
            guest_pc, guest_ears, _ = await connect(web, f"{base}/audio/publish", guest.token,
                                                    ToneTrack(HIGH), receive=1)
            start = await listen_for(0.7)
            await listen_for(1.3)
            assert host_ears.level_at(HIGH, start) > 0.05 and host_ears.level_at(LOW, start) < 0.02
            assert guest_ears.level_at(LOW, start) > 0.05 and guest_ears.level_at(HIGH, start) < 0.02
            await web.post(f"{base}/speakers/{guest.id}/mute", headers=host.auth)
            after = await listen_for(1.0)
            await listen_for(0.6)
            assert host_ears.level_at(HIGH, after) < 0.02  # a muted speaker is forwarded to nobody
            for pc in (host_pc, guest_pc):
                await pc.close()

    run(scenario())


def test_a_recording_holds_what_was_said_and_only_the_host_and_auditors_get_it(tmp_path):
    server = Server(tmp_path / "data", {"SPACES_RECORDING_SEGMENT_SECONDS": "0.5"})
    http = server.start()
    try:
        host, fan = register(http, "host"), register(http, "fan")
        space = http.post("/v1/spaces", json={"title": "On the record"}, headers=host.auth).json()["id"]
        base = f"/v1/spaces/{space}"
        http.post(f"{base}/launch", headers=host.auth)
        http.post(f"{base}/speakers/{host.id}/unmute", headers=host.auth)

        async def scenario() -> None:
            async with httpx.AsyncClient(base_url=server.url, timeout=20) as web:
                pc, _, _ = await connect(web, f"{base}/audio/publish", host.token, ToneTrack(LOW))
                await asyncio.sleep(0.5)
                await web.patch(base, json={"recording": True}, headers=host.auth)
                await asyncio.sleep(2.5)
                await web.patch(base, json={"recording": False}, headers=host.auth)
                await asyncio.sleep(0.3)
                assert_problem(await web.get(f"{base}/recording", headers=host.auth), 409, "ended")
                await web.post(f"{base}/end", headers=host.auth)
                await pc.close()

        run(scenario())
        segments = list((tmp_path / "data" / "recordings" / space).glob("segment-*.ogg"))
        assert len(segments) >= 3  # written in short pieces as it went
        download = http.get(f"{base}/recording", headers=host.auth)
        assert download.status_code == 200 and download.headers["content-type"] == "audio/ogg"
        container = av.open(io.BytesIO(download.content))
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
        assert 1.5 < len(samples) / 48_000 < 4.0
        spectrum = np.abs(np.fft.rfft(samples))
        assert abs(np.fft.rfftfreq(len(samples), 1 / 48_000)[np.argmax(spectrum)] - LOW) < 5
        auditor = {"Authorization": "Bearer " + spaces("auditor-token", "ann", data_dir=server.data_dir).strip()}
        assert http.get(f"{base}/recording", headers=auditor).status_code == 200
        assert_problem(http.get(f"{base}/recording", headers=fan.auth), 403)
    finally:
        server.stop()


def test_a_separate_media_process_carries_the_audio(tmp_path):
    from tests.support import free_port

    media_port = free_port()
    media = Server(tmp_path / "data", command="media", port=media_port)
    api = Server(tmp_path / "data", {"SPACES_MEDIA_URL": f"http://127.0.0.1:{media_port}"})
    try:
        http = api.start()
        media.start()
        host, fan = register(http, "host"), register(http, "fan")
        space = http.post("/v1/spaces", json={"title": "Far away"}, headers=host.auth).json()["id"]
        base = f"/v1/spaces/{space}"
        http.post(f"{base}/launch", headers=host.auth)
        http.post(f"{base}/speakers/{host.id}/unmute", headers=host.auth)
        assert_problem(http.post(f"{base}/audio/listen", content="v=0",
                                 headers={"Content-Type": "application/sdp"}), 400)
        assert_problem(http.post(f"{media.url}/internal/media/listen", json={}, headers=host.auth), 403)

        async def scenario() -> None:
            async with httpx.AsyncClient(base_url=api.url, timeout=20) as web:
                host_pc, _, published = await connect(web, f"{base}/audio/publish", host.token, ToneTrack(LOW))
                assert published.status_code == 201, published.text
                session = published.headers["location"]
                fan_pc, ears, _ = await connect(web, f"{base}/audio/listen", fan.token)
                start = await listen_for(0.6)
                await listen_for(1.0)
                assert abs(ears.dominant(start) - LOW) < 10
                assert_problem(await web.delete(session, headers=fan.auth), 403)
                assert (await web.delete(session, headers=host.auth)).status_code == 204
                await listen_for(0.5)
                host_pc, _, _ = await connect(web, f"{base}/audio/publish", host.token, ToneTrack(LOW))
                await web.post(f"{base}/end", headers=host.auth)
                await asyncio.wait_for(ears.ended.wait(), timeout=2.0)
                for pc in (host_pc, fan_pc):
                    await pc.close()

        run(scenario())
    finally:
        api.stop()
        media.stop()


def test_signalling_refuses_what_it_cannot_serve(server):
    http = server.start()
    host, fan = register(http, "host"), register(http, "fan")
    space = http.post("/v1/spaces", json={"title": "Checks"}, headers=host.auth).json()["id"]
    base = f"/v1/spaces/{space}/audio"
    http.post(f"/v1/spaces/{space}/launch", headers=host.auth)
    sdp = {"Content-Type": "application/sdp"}
    assert_problem(http.post(f"{base}/publish", content="hello", headers={**host.auth, **sdp}), 400, "SDP")
    assert_problem(http.post(f"{base}/listen", content="v=0\r\nm=audio oops\r\n", headers=sdp), 400)
    assert_problem(http.post(f"{base}/listen", json={"sdp": "v=0"}), 415, "application/sdp")
    assert_problem(http.post(f"{base}/publish", content="v=0", headers={**fan.auth, **sdp}), 403, "stage")
    assert_problem(http.post(f"{base}/publish", content="v=0", headers=sdp), 401)
    assert_problem(http.delete(f"{base}/sessions/nope"), 404)


def test_an_account_wide_block_ends_the_blocked_persons_listening(server):
    http = server.start()
    host, rude = register(http, "host"), register(http, "rude")
    space = http.post("/v1/spaces", json={"title": "Open"}, headers=host.auth).json()["id"]
    base = f"/v1/spaces/{space}"
    http.post(f"{base}/launch", headers=host.auth)

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as web:
            pc, ears, listened = await connect(web, f"{base}/audio/listen", rude.token)
            assert listened.status_code == 201
            await asyncio.sleep(1.0)
            blocked = await web.put(f"/v1/accounts/{host.id}/blocked/{rude.id}", headers=host.auth)
            assert blocked.status_code == 200
            await asyncio.wait_for(ears.ended.wait(), timeout=10)
            again_pc, _, again = await connect(web, f"{base}/audio/listen", rude.token)
            assert_problem(again, 403, "blocked")
            for closing in (pc, again_pc):
                await closing.close()

    run(scenario())


def test_a_listener_whose_network_changed_resumes_its_session_with_a_new_offer(server):
    http = server.start()
    host, fan, other = register(http, "host"), register(http, "fan"), register(http, "other")
    space = http.post("/v1/spaces", json={"title": "Blip"}, headers=host.auth).json()["id"]
    base = f"/v1/spaces/{space}"
    http.post(f"{base}/launch", headers=host.auth)
    http.post(f"{base}/speakers/{host.id}/unmute", headers=host.auth)

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as web:
            host_pc, _, _ = await connect(web, f"{base}/audio/publish", host.token, ToneTrack(LOW))
            old_pc, old_ears, listening = await connect(web, f"{base}/audio/listen", fan.token)
            location = listening.headers["location"]
            await listen_for(1.0)
            count = http.get(base).json()["listener_count"]

            pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            pc.addTransceiver("audio", direction="recvonly")
            ears = Ears()
            pc.on("track", lambda track: asyncio.ensure_future(ears.consume(track)))
            await pc.setLocalDescription(await pc.createOffer())
            sdp = {"Content-Type": "application/sdp"}
            assert_problem(await web.patch(location, content=pc.localDescription.sdp,
                                           headers={**sdp, "Authorization": f"Bearer {other.token}"}), 403)
            resumed = await web.patch(location, content=pc.localDescription.sdp,
                                      headers={**sdp, "Authorization": f"Bearer {fan.token}"})
            assert resumed.status_code == 200, resumed.text
            await pc.setRemoteDescription(RTCSessionDescription(resumed.text, "answer"))
            await asyncio.wait_for(old_ears.ended.wait(), timeout=5.0)  # the old connection is done
            start = await listen_for(0.8)
            await listen_for(1.0)
            assert abs(ears.dominant(start) - LOW) < 10
            assert http.get(base).json()["listener_count"] == count  # no new join
            assert (await web.delete(location, headers=fan.auth)).status_code == 204
            for each in (host_pc, old_pc, pc):
                await each.close()

    run(scenario())
