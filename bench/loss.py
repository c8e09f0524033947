"""What a listener hears of the mix through a lossy network, with and without recovery, side
by side in one run: `spaces serve`, one aiortc speaker, and per loss rate two listeners
behind their own LossyRelay (random loss on the way to them): one makes good its losses
(the mix's in-band FEC, NACKs the node answers from its history; a playout buffer two
frames deep), the other does not (it conceals each loss; a buffer one frame deep). Prints,
per row: loss, recovery, the share of frames the listener's decoder concealed, and how
much later recovery makes it play (p50 of arrival → turn to play, against the other).

Run: .venv/bin/python bench/loss.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.peers import Player, ToneTrack, connect  # noqa: E402
from tests.relay import LossyRelay  # noqa: E402
from tests.support import Server, register  # noqa: E402

LOSSES = (0, 2, 5, 10, 20)


async def listen_through_loss(url: str, base: str, people: list, loss: float,
                              seconds: float) -> list[dict]:
    players = [Player(fec=True, nack=True, hold=2), Player(fec=False, nack=False, hold=1)]
    relays = [LossyRelay(loss=loss / 100, direction="to_client", impaired="rtp", seed=seed)
              for seed in (11, 13)]
    async with httpx.AsyncClient(base_url=url, timeout=20) as web:
        pcs = []
        for person, relay, player in zip(people, relays, players):
            pc, _, answered = await connect(web, f"{base}/audio/listen", person.token,
                                            relay=relay, player=player)
            answered.raise_for_status()
            pcs.append(pc)
        await asyncio.sleep(seconds)
        for player in players:
            player.stop()
        for pc in pcs:
            await pc.close()
    waits = [statistics.median(p.waits) * 1000 if p.waits else float("nan") for p in players]
    return [{"loss_pct": loss, "recovery": recovery, "concealed_pct": round(100 * p.concealed, 3),
             "added_p50_ms": round(waits[0] - waits[1], 1) if recovery else 0.0,
             "dropped_pct": round(100 * r.counters["to_client"].loss("rtp"), 2),
             "frames": p.played}
            for recovery, p, r in zip((True, False), players, relays)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="two loss rates, short")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    losses, seconds = ((0, 10), 4.0) if args.quick else (LOSSES, 20.0)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "data")
        http = server.start()
        try:
            host = register(http, "host")
            space = http.post("/v1/spaces", json={"title": "Loss"}, headers=host.auth).json()["id"]
            base = f"/v1/spaces/{space}"
            http.post(f"{base}/launch", headers=host.auth)
            http.post(f"{base}/speakers/{host.id}/unmute", headers=host.auth)

            async def run() -> None:
                async with httpx.AsyncClient(base_url=server.url, timeout=20) as web:
                    speaker, _, _ = await connect(web, f"{base}/audio/publish", host.token,
                                                  ToneTrack(440))
                    for loss in losses:
                        people = [register(http, f"l{loss}{kind}") for kind in ("mended", "bare")]
                        rows.extend(await listen_through_loss(server.url, base, people, loss, seconds))
                    await speaker.close()

            asyncio.run(run())
        finally:
            server.stop()
    print(f"{'loss %':>7}{'recovery':>10}{'dropped %':>11}{'concealed %':>13}"
          f"{'added p50 ms':>14}{'frames':>8}")
    for row in rows:
        print(f"{row['loss_pct']:>7}{str(row['recovery']):>10}{row['dropped_pct']:>11.2f}"
              f"{row['concealed_pct']:>13.3f}{row['added_p50_ms']:>14.1f}{row['frames']:>8}")
    at_ten = [r for r in rows if r["loss_pct"] == 10 and r["recovery"]]
    if at_ten:
        print(f"target: at 10 % loss, {at_ten[0]['concealed_pct']:.3f} % concealed (<= 0.5 %), "
              f"added p50 {at_ten[0]['added_p50_ms']:.1f} ms (<= 40 ms)")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows}, indent=2))


if __name__ == "__main__":
    main()
