"""The mix as LL-HLS through a real HTTP cache: `spaces serve` with its media node full for
WebRTC listeners (capacity 0), Debian's nginx in front (scripts/nginx/spaces.conf), two
aiortc speakers; the test plays the stream as an HLS client does and decodes the AAC."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.hls_client import MediaPlaylist, decode, level_at
from tests.peers import ToneTrack, connect
from tests.support import Server, assert_problem, nginx_cache, register

LOW, HIGH = 440.0, 1250.0


def test_an_hls_audience_hears_the_space_through_the_cache(tmp_path):
    server = Server(tmp_path / "data", {"SPACES_MEDIA_CAPACITY": "0",
                                        "SPACES_HLS_LINGER_SECONDS": "3"})
    http = server.start()
    try:
        with nginx_cache(server.url, tmp_path / "nginx") as cache:
            scenario(http, server.url, cache)
    finally:
        server.stop()


def scenario(http: httpx.Client, origin: str, cache_url: str) -> None:
    host, guest, fan = (register(http, h) for h in ("host", "guest", "fan"))
    space = http.post("/v1/spaces", json={"title": "Overflow"}, headers=host.auth).json()["id"]
    base = f"/v1/spaces/{space}"
    hls = f"{base}/hls"
    assert_problem(http.get(f"{hls}/index.m3u8"), 409, "goes live")
    http.put(f"{base}/speakers/{guest.id}", headers=host.auth)
    http.post(f"{base}/launch", headers=host.auth)
    for speaker in (host, guest):
        http.post(f"{base}/speakers/{speaker.id}/unmute", headers=speaker.auth)
    cache = httpx.Client(base_url=cache_url, timeout=15)

    async def speak_and_listen() -> None:
        async with httpx.AsyncClient(base_url=origin, timeout=20) as web:
            speakers = [await connect(web, f"{base}/audio/publish", who.token, ToneTrack(tone))
                        for who, tone in ((host, LOW), (guest, HIGH))]
            assert all(r.status_code == 201 for _, _, r in speakers)

            # no WebRTC seat: 503, and the HLS stream as the alternate
            pc, _, full = await connect(web, f"{base}/audio/listen", fan.token)
            await pc.close()
            assert_problem(full, 503, "HLS")
            assert full.headers["retry-after"]
            assert full.headers["link"] == (f'<{hls}/index.m3u8>; rel="alternate"; '
                                            'type="application/vnd.apple.mpegurl"')
            await asyncio.to_thread(listen_over_hls, cache, hls, fan, host, base)

            await web.post(f"{base}/end", headers=host.auth)
            await asyncio.to_thread(the_end, cache, hls)
            # the origin drops the files too (a cache may keep them for their max-age)
            assert_problem(await web.get(f"{hls}/init.mp4"), 410)
            for pc, _, _ in speakers:
                await pc.close()

    asyncio.run(asyncio.wait_for(speak_and_listen(), timeout=120))


def listen_over_hls(cache: httpx.Client, hls: str, fan, host, base: str) -> None:
    index = cache.get(f"{hls}/index.m3u8")  # anonymous: the packaging starts on demand
    assert index.status_code == 200, index.text
    assert index.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert "public" in index.headers["cache-control"] and "max-age=1" in index.headers["cache-control"]
    assert 'CODECS="mp4a.40.2"' in index.text and "audio.m3u8" in index.text

    playlist = MediaPlaylist.parse(cache.get(f"{hls}/audio.m3u8", headers=fan_auth(fan)).text)
    assert "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES" in playlist.text
    assert playlist.parts and playlist.hint  # partial segments, and the next one hinted
    # blocking reloads, as a player makes them, until three whole segments are listed
    while len(playlist.segments) < 3:
        msn, part = playlist.next_part
        reloaded = cache.get(f"{hls}/audio.m3u8", params={"_HLS_msn": msn, "_HLS_part": part},
                             headers=fan_auth(fan))
        assert reloaded.status_code == 200, reloaded.text
        assert "private" in reloaded.headers["cache-control"]
        playlist = MediaPlaylist.parse(reloaded.text)
        assert any(uri == f"part-{msn}.{part}.m4s" for _, uri in playlist.parts), playlist.text
    # the hinted part is held until it is written, then served (immutable, shared)
    hinted = cache.get(f"{hls}/{playlist.hint}")
    assert hinted.status_code == 200 and "immutable" in hinted.headers["cache-control"]
    again = cache.get(f"{hls}/{playlist.hint}")
    assert again.headers.get("x-cache") == "HIT" and again.content == hinted.content

    init = cache.get(f"{hls}/init.mp4").content
    audio = decode(init, [cache.get(f"{hls}/{uri}").content for uri in playlist.segments[-2:]])
    assert len(audio) > 48_000 * 3
    assert level_at(audio, LOW) > 0.02 and level_at(audio, HIGH) > 0.02, \
        (level_at(audio, LOW), level_at(audio, HIGH))
    parts = [cache.get(f"{hls}/{uri}").content for _, uri in playlist.parts[-4:]]
    assert level_at(decode(init, parts), LOW) > 0.02

    # bad names are 404, never 5xx; a reload too far ahead is 400
    for name in ("seg-x.m4s", "part-1.m4s", "..%2Fstate.json", "state.json", "seg-99999.m4s",
                 "part-99999.0.m4s", "part-1.9.m4s", "captions-99999.vtt"):
        assert_problem(cache.get(f"{hls}/{name}"), 404)
    assert_problem(cache.get(f"{hls}/audio.m3u8", params={"_HLS_msn": 10**6}), 400, "ahead")
    assert_problem(cache.get(f"{hls}/audio.m3u8", params={"_HLS_msn": "x"}), 400)

    # the host removes the fan: their next reload is refused
    removed = httpx.post(f"{cache.base_url}{base}/removals", json={"user_id": fan.id},
                         headers=host.auth)
    assert removed.status_code in (200, 201, 204), removed.text
    assert_problem(cache.get(f"{hls}/audio.m3u8", headers=fan_auth(fan)), 403)


def the_end(cache: httpx.Client, hls: str) -> None:
    """The end: the playlist ends (EXT-X-ENDLIST), and then the stream is gone (410)."""
    deadline = time.monotonic() + 10
    playlist = MediaPlaylist.parse(cache.get(f"{hls}/audio.m3u8").text)
    while not playlist.ended and time.monotonic() < deadline:
        time.sleep(0.5)
        playlist = MediaPlaylist.parse(cache.get(f"{hls}/audio.m3u8").text)
    assert playlist.ended, playlist.text
    while (gone := cache.get(f"{hls}/audio.m3u8")).status_code == 200 \
            and time.monotonic() < deadline + 10:
        time.sleep(0.5)
    assert_problem(gone, 410)


def fan_auth(fan) -> dict[str, str]:
    return {"Authorization": f"Bearer {fan.token}"}
