"""With Kafka, caption lines also go to `<prefix>captions`, keyed by Space id: a speaker's
words through aiortc, `spaces serve` on PostgreSQL and Kafka, the line read off the topic."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx

from tests.e2e.test_captions import TONE_ENGINE, Space, final_line
from tests.e2e.test_stream import Watcher
from tests.integration.faults import eventually
from tests.integration.kafka_topic import read_topic
from tests.support import Server
from tests.tone_speech import tones


def test_caption_lines_reach_their_kafka_topic(servers, database_url, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    prefix, bootstrap = f"test.{suffix}.", servers["SPACES_KAFKA_BOOTSTRAP"]
    server = Server(tmp_path / "data", {
        **TONE_ENGINE, "SPACES_DATABASE_URL": database_url, "SPACES_KAFKA_BOOTSTRAP": bootstrap,
        "SPACES_KAFKA_TOPIC": f"test.events.{suffix}", "SPACES_PROJECTION_GROUP": f"test-{suffix}",
        "SPACES_KAFKA_LIVE_PREFIX": prefix, "SPACES_SECRET": "test"})
    try:
        space = Space(server.start(), transcripts=True)

        async def scenario() -> dict:
            async with httpx.AsyncClient(base_url=server.url, timeout=20) as web:
                watcher = Watcher(web, f"{space.base}/stream", space.fan.token)
                pc, mic = await space.microphone(web, watcher, space.host)
                mic.say(tones(("delta", 0.4), ("echo", 0.4)))
                line = await final_line(watcher, space.host)
                await pc.close()
                return line

        line = asyncio.run(asyncio.wait_for(scenario(), 90))
        published: list[dict] = []

        def on_the_topic() -> bool:
            published[:] = [json.loads(r.value) for r in read_topic(bootstrap, prefix + "captions")
                            if r.key == space.id.encode()]
            return any(p["final"] for p in published)

        assert eventually(on_the_topic, timeout=15), published
        (final,) = [p for p in published if p["final"]]
        assert final == {"space_id": space.id, **line}
        assert final["text"] == "delta echo" and final["speaker_id"] == space.host.id
    finally:
        server.stop()
