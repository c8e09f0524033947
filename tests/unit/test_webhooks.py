"""Webhooks through HTTP, to a receiver in the test: Standard Webhooks signatures, order per
Space, retries with backoff, a receiver down for a while, replay, and addresses refused."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest

from infrastructure import webhook_signing
from tests.support import assert_problem, free_port, register
from tests.unit.test_http_api import auditor_headers
from tests.webhook_receiver import Receiver

FAST = {"webhooks_allow_private": True, "webhook_retry_seconds": 0.05}


def eventually(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def register_webhook(client, url: str, **body) -> dict:
    created = client.post("/v1/webhooks", json={"url": url, **body}, headers=auditor_headers(client))
    assert created.status_code == 201, created.text
    return created.json()


def deliveries(client, webhook) -> list[dict]:
    return client.get(f"/v1/webhooks/{webhook['id']}/deliveries",
                      headers=auditor_headers(client)).json()["items"]


def all_delivered(client, webhook, count: int) -> bool:
    found = deliveries(client, webhook)
    return len(found) == count and all(d["state"] == "delivered" for d in found)


def two_spaces(client) -> int:
    """Two Spaces with events interleaved; how many events they stored."""
    host, guest = register(client, "host"), register(client, "guest")
    start = client.app.state.system.app.position()
    one, two = (client.post("/v1/spaces", json={"title": t}, headers=host.auth).json()["id"]
                for t in ("One", "Two"))
    for space in (one, two):
        client.post(f"/v1/spaces/{space}/launch", headers=host.auth)
    for space in (one, two):
        client.put(f"/v1/spaces/{space}/speakers/{guest.id}", headers=host.auth)
    client.post(f"/v1/spaces/{one}/end", headers=host.auth)
    client.post(f"/v1/spaces/{two}/end", headers=host.auth)
    return client.app.state.system.app.position() - start


def in_order_per_space(received: list[dict]) -> bool:
    by_space = defaultdict(list)
    for message in received:
        by_space[message["event"]["data"]["space_id"]].append(message["event"]["data"]["position"])
    return all(positions == sorted(positions) for positions in by_space.values())


def test_events_arrive_signed_in_order_per_space_and_retried(make_client):
    check_events_arrive_signed_in_order_and_retried(make_client(**FAST))


def check_events_arrive_signed_in_order_and_retried(client) -> None:
    """Run here on SQLite, and by tests/integration on PostgreSQL."""
    receiver = Receiver(fail_first=3)
    try:
        webhook = register_webhook(client, receiver.url)
        assert webhook["secret"].startswith("whsec_") and webhook["event_types"] == ["*"]
        count = two_spaces(client)
        assert eventually(lambda: all_delivered(client, webhook, count)), deliveries(client, webhook)
        accepted = receiver.accepted()
        assert len(accepted) == count == len({m["headers"]["webhook-id"] for m in accepted})
        for message in receiver.received:
            assert webhook_signing.verify(webhook["secret"], message["headers"], message["body"])
            assert message["headers"]["webhook-signature"].startswith("v1,")
        assert in_order_per_space(accepted)
        kinds = [m["event"]["type"] for m in accepted]
        assert kinds.count("SpaceLaunched") == 2 and kinds.count("SpeakerGranted") == 2
        retried = [d for d in deliveries(client, webhook) if d["attempts"] > 1]
        assert retried and all(d["last_status"] == 200 for d in retried)
        first_id = receiver.received[0]["headers"]["webhook-id"]
        assert [r["status"] for r in receiver.received if r["headers"]["webhook-id"] == first_id][-1] == 200
    finally:
        receiver.close()


def test_a_receiver_down_for_a_while_gets_everything_later_in_order_once(make_client):
    client = make_client(**FAST)
    port = free_port()
    webhook = register_webhook(client, f"http://127.0.0.1:{port}/hook",
                               event_types=["SpaceLaunched", "SpaceEnded", "SpeakerGranted"])
    count = two_spaces(client) - 2  # not the two SpaceCreated
    assert eventually(lambda: all(d["attempts"] >= 2 for d in deliveries(client, webhook)[:2]))
    assert all(d["state"] == "pending" and d["last_error"] for d in deliveries(client, webhook))
    receiver = Receiver(port=port)
    try:
        assert eventually(lambda: all_delivered(client, webhook, count))
        accepted = receiver.accepted()
        assert len(accepted) == len({m["headers"]["webhook-id"] for m in accepted}) == count
        assert in_order_per_space(accepted)
        replayed = client.post(f"/v1/webhooks/{webhook['id']}/replay", json={"from_position": 1},
                               headers=auditor_headers(client))
        assert replayed.status_code == 202
        assert eventually(lambda: len(receiver.accepted()) == 2 * count)
        again = receiver.accepted()[count:]
        assert [m["headers"]["webhook-id"] for m in again] != []
        assert {m["headers"]["webhook-id"] for m in again} == {m["headers"]["webhook-id"] for m in accepted}
    finally:
        receiver.close()


def test_an_endpoint_that_hangs_delays_no_other(make_client):
    client = make_client(**FAST, webhook_timeout_seconds=1.0)
    stuck, fine = Receiver(hang=3.0), Receiver()
    try:
        register_webhook(client, stuck.url)
        working = register_webhook(client, fine.url)
        count = two_spaces(client)
        started = time.monotonic()
        assert eventually(lambda: all_delivered(client, working, count), timeout=5)
        assert time.monotonic() - started < 2.5
    finally:
        stuck.close()
        fine.close()


@pytest.mark.parametrize("url, detail", [
    ("http://127.0.0.1:9/hook", "loopback"), ("http://10.1.2.3/hook", "private"),
    ("http://[::1]/hook", "loopback"), ("http://169.254.169.254/latest", "reserved"),
    ("ftp://example.com/hook", "http"), ("https://user:pw@example.com/", "user name"),
])
def test_webhooks_go_to_public_http_addresses_only(client, url, detail):
    assert_problem(client.post("/v1/webhooks", json={"url": url}, headers=auditor_headers(client)),
                   422, detail)


def test_only_auditors_manage_webhooks_and_bad_secrets_or_types_are_refused(make_client):
    client = make_client(**FAST)
    host = register(client, "host")
    assert_problem(client.post("/v1/webhooks", json={"url": "http://127.0.0.1/x"}, headers=host.auth), 403)
    assert_problem(client.get("/v1/webhooks"), 401)
    auditor = auditor_headers(client)
    assert_problem(client.post("/v1/webhooks", json={"url": "http://127.0.0.1/x", "secret": "plain"},
                               headers=auditor), 422, "whsec_")
    assert_problem(client.post("/v1/webhooks", json={"url": "http://127.0.0.1/x",
                                                     "event_types": ["Nonsense"]}, headers=auditor),
                   422, "Unknown event types")
    made = register_webhook(client, "http://127.0.0.1:9/x", secret=webhook_signing.new_secret())
    assert [w["id"] for w in client.get("/v1/webhooks", headers=auditor).json()] == [made["id"]]
    assert "secret" not in client.get("/v1/webhooks", headers=auditor).json()[0]
    assert client.delete(f"/v1/webhooks/{made['id']}", headers=auditor).status_code == 204
    assert client.get("/v1/webhooks", headers=auditor).json()[0]["active"] is False
    assert_problem(client.get(f"/v1/webhooks/{host.id}/deliveries", headers=auditor), 404)


def test_standard_webhooks_signature_matches_the_specs_example():
    # From the Standard Webhooks specification's reference test vector.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert webhook_signing.signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
