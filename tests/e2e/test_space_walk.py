"""A whole Space through HTTP only, against `spaces serve` on the embedded default."""

from __future__ import annotations

from tests.support import Server, assert_problem, register, spaces


def test_a_space_from_sign_up_to_audit_survives_restart_and_rebuild(server):
    walk_a_space(server)


def walk_a_space(server: Server) -> dict:
    """Walks a whole Space through HTTP; returns the final views. Also run on PostgreSQL
    and Kafka by the integration suite."""
    http = server.start()
    host, fan, troll, blocked, reporter = (
        register(http, h) for h in ("host", "fan", "troll", "blocked", "reporter"))
    guests = [register(http, f"guest{i}") for i in range(10)]

    # follow, create, launch: the listing and the fan's feed show it
    assert http.put(f"/v1/accounts/{fan.id}/following/{host.id}", headers=fan.auth).status_code == 200
    assert_problem(http.put(f"/v1/accounts/{host.id}/following/{fan.id}", headers=fan.auth), 403)
    created = http.post("/v1/spaces", headers=host.auth, json={
        "title": "Launch party", "speaker_policy": "everyone"})
    assert created.status_code == 201
    space = created.json()["id"]
    assert created.json()["state"] == "created" and created.json()["link"] == f"/s/{space}"
    launched = http.post(f"/v1/spaces/{space}/launch", headers=host.auth).json()
    after = {"after": launched["position"]}
    assert [s["id"] for s in http.get("/v1/spaces", params=after).json()["items"]] == [space]
    assert [s["id"] for s in http.get("/v1/feed", params=after, headers=fan.auth).json()["items"]] == [space]
    assert http.get(f"/v1/spaces/{space}").json()["state"] == "live"

    # invitations up to a full stage: nine guests join the host; the tenth gets 409
    for guest in guests:
        invited = http.post(f"/v1/spaces/{space}/invitations", json={"user_id": guest.id},
                            headers=host.auth)
        assert invited.status_code == 201
        inbox = http.get("/v1/invitations", params={"after": invited.json()["position"]},
                         headers=guest.auth).json()
        assert [i["space_id"] for i in inbox] == [space]
        accepted = http.post(f"/v1/spaces/{space}/invitations/{guest.id}/accept", headers=guest.auth)
        if guest is guests[-1]:
            assert_problem(accepted, 409, "stage is full")
        else:
            assert accepted.status_code == 200, accepted.text
    detail = http.get(f"/v1/spaces/{space}", params={"after": http.get("/healthz").json()[
        "event_store_position"]}).json()
    assert detail["speaker_count"] == 10 and len(detail["speakers"]) == 10
    assert_problem(http.put(f"/v1/spaces/{space}/speakers/{fan.id}", headers=host.auth), 409, "full")
    http.delete(f"/v1/spaces/{space}/speakers/{guests[0].id}", headers=guests[0].auth)  # leaves
    assert http.put(f"/v1/spaces/{space}/speakers/{guests[-1].id}", headers=host.auth).status_code == 200

    # a non-host gets 403 on every host command
    speaker = guests[1]
    for method, path, body in [
        ("POST", "/launch", None), ("POST", "/end", None), ("PATCH", "", {"recording": True}),
        ("POST", "/invitations", {"user_id": fan.id}), ("PUT", f"/speakers/{fan.id}", None),
        ("DELETE", f"/speakers/{guests[2].id}", None), ("POST", f"/speakers/{guests[2].id}/mute", None),
        ("POST", "/removals", {"user_id": fan.id}), ("POST", "/blocks", {"user_id": fan.id}),
    ]:
        response = http.request(method, f"/v1/spaces/{space}{path}", json=body, headers=speaker.auth)
        assert_problem(response, 403, "only the host")

    # removal keeps the troll out of this Space
    http.post(f"/v1/spaces/{space}/speak-requests", headers=troll.auth)
    removed = http.post(f"/v1/spaces/{space}/removals", json={"user_id": troll.id, "reason": "spam"},
                        headers=host.auth).json()
    assert_problem(http.get(f"/v1/spaces/{space}", params={"after": removed["position"]},
                            headers=troll.auth), 403, "removed")
    assert_problem(http.post(f"/v1/spaces/{space}/speak-requests", headers=troll.auth), 403, "removed")
    assert_problem(http.post(f"/v1/spaces/{space}/reactions", json={"emoji": "🔥"},
                             headers=troll.auth), 403, "removed")
    assert_problem(http.put(f"/v1/spaces/{space}/speakers/{troll.id}", headers=host.auth), 409, "removed")

    # a block keeps the user out of this and every other Space of the host
    blocked_done = http.post(f"/v1/spaces/{space}/blocks", json={"user_id": blocked.id},
                             headers=host.auth).json()
    other = http.post("/v1/spaces", json={"title": "Encore"}, headers=host.auth).json()["id"]
    other_live = http.post(f"/v1/spaces/{other}/launch", headers=host.auth).json()
    for where in (space, other):
        assert_problem(http.get(f"/v1/spaces/{where}", params={"after": other_live["position"]},
                                headers=blocked.auth), 403, "blocked")
        assert_problem(http.post(f"/v1/spaces/{where}/speak-requests", headers=blocked.auth), 403,
                       "blocked")
    assert blocked_done["position"] < other_live["position"]

    # a report is recorded and removes nobody; reactions flow
    reported = http.post(f"/v1/spaces/{space}/reports", headers=reporter.auth,
                         json={"user_id": speaker.id, "reason": "shouting"})
    assert reported.status_code == 201
    assert http.post(f"/v1/spaces/{space}/reactions", json={"emoji": "👏"},
                     headers=fan.auth).status_code == 202

    # switches
    switched = http.patch(f"/v1/spaces/{space}", json={"transcripts": True, "recording": True},
                          headers=host.auth).json()
    detail = http.get(f"/v1/spaces/{space}", params={"after": switched["position"]}).json()
    assert detail["transcripts"] is True and detail["recording"] is True
    assert speaker.id in [s["id"] for s in detail["speakers"]]

    # end: gone from public reads, listing and feed; commands refused; the host still reads it
    ended = http.post(f"/v1/spaces/{space}/end", headers=host.auth).json()
    after = {"after": ended["position"]}
    assert_problem(http.get(f"/v1/spaces/{space}", params=after), 410, "ended")
    assert_problem(http.get(f"/v1/spaces/{space}", params=after, headers=fan.auth), 410)
    assert http.get(f"/s/{space}").status_code == 410
    assert http.get(f"/v1/spaces/{space}", params=after, headers=host.auth).json()["state"] == "ended"
    assert space not in [s["id"] for s in http.get("/v1/spaces", params=after).json()["items"]]
    assert space not in [s["id"] for s in http.get("/v1/feed", params=after, headers=fan.auth).json()["items"]]
    for method, path, body in [("POST", "/launch", None), ("PATCH", "", {"recording": False}),
                               ("POST", "/invitations", {"user_id": fan.id}),
                               ("POST", "/reports", {"user_id": host.id, "reason": "late"})]:
        requester = fan if path == "/reports" else host
        assert_problem(http.request(method, f"/v1/spaces/{space}{path}", json=body,
                                    headers=requester.auth), 409, "ended")

    # auditors: a token from the CLI, the history and moderation log in order
    auditor = {"Authorization": "Bearer " + spaces("auditor-token", "ann", data_dir=server.data_dir, env=server.env).strip()}
    history = http.get(f"/v1/audit/spaces/{space}/history", headers=auditor).json()
    assert [e["version"] for e in history] == list(range(1, len(history) + 1))
    names = [e["event"] for e in history]
    assert names[:2] == ["SpaceCreated", "SpaceLaunched"] and names[-1] == "SpaceEnded"
    assert names.index("UserRemoved") < names.index("UserBlocked") < names.index("UserReported")
    removal = history[names.index("UserRemoved")]["data"]
    assert removal == {"user_id": troll.id, "removed_by": host.id, "reason": "spam"}
    log = http.get("/v1/audit/moderation", params={"space_id": space, **after}, headers=auditor).json()
    actions = [(e["action"], e["actor_id"], e["target_id"]) for e in log["items"]]
    assert ("speaker_granted", host.id, guests[-1].id) in actions
    assert actions[-3:] == [("user_removed", host.id, troll.id), ("user_blocked", host.id, blocked.id),
                            ("user_reported", reporter.id, speaker.id)]
    assert [e["position"] for e in log["items"]] == sorted(e["position"] for e in log["items"])
    assert_problem(http.get("/v1/audit/moderation", headers=host.auth), 403)

    # bad input
    assert_problem(http.post("/v1/spaces", json={}, headers=host.auth), 422, "title")
    assert_problem(http.post("/v1/spaces", json={"title": "x", "speaker_policy": "anyone"},
                             headers=host.auth), 422, "speaker_policy")
    assert_problem(http.post(f"/v1/spaces/{other}/removals", json={}, headers=host.auth), 422, "user_id")
    assert_problem(http.get("/v1/feed", headers={"Authorization": "Bearer forged.token"}), 401)
    assert_problem(http.get("/v1/spaces/00000000-0000-0000-0000-000000000000"), 404)

    # everything survives a restart, and a rebuild reproduces the same views
    def views() -> dict:
        return {
            "listing": http.get("/v1/spaces").json(),
            "feed": http.get("/v1/feed", headers=fan.auth).json(),
            "detail": http.get(f"/v1/spaces/{space}", headers=host.auth).json(),
            "other": http.get(f"/v1/spaces/{other}", headers=host.auth).json(),
            "moderation": http.get("/v1/audit/moderation", headers=auditor).json(),
            "inbox": http.get("/v1/invitations", headers=guests[-1].auth).json(),
            "history": http.get(f"/v1/audit/spaces/{space}/history", headers=auditor).json(),
        }

    position = http.get("/healthz").json()["event_store_position"]
    http.get("/v1/spaces", params={"after": position})
    before = views()
    server.stop()
    http = server.start()
    assert views() == before
    server.stop()
    output = spaces("rebuild", data_dir=server.data_dir, env=server.env)
    assert f"Rebuilt every view from the events up to {position};" in output
    http = server.start()
    assert http.get("/healthz").json()["views_position"] == position
    assert views() == before
    return before
