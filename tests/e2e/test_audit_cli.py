"""Auditors through the CLI and through HTTP see the same timeline; every read is logged."""

from __future__ import annotations

import json
import subprocess

from tests.support import BIN, assert_problem, clean_env, register, spaces


def test_the_cli_and_the_api_tell_the_same_history_and_auditor_reads_are_logged(server):
    http = server.start()
    host, guest, troll = (register(http, h) for h in ("host", "guest", "troll"))
    space = http.post("/v1/spaces", json={"title": "Hearing"}, headers=host.auth).json()["id"]
    base = f"/v1/spaces/{space}"
    http.post(f"{base}/launch", headers=host.auth)
    http.put(f"{base}/speakers/{guest.id}", headers=host.auth)
    http.post(f"{base}/removals", json={"user_id": troll.id, "reason": "spam"}, headers=host.auth)
    http.post(f"{base}/end", headers=host.auth)
    auditor = {"Authorization": "Bearer " + spaces("auditor-token", "ann", data_dir=server.data_dir).strip()}

    api = http.get(f"/v1/audit/spaces/{space}/timeline", headers=auditor).json()
    lines = [json.loads(line) for line in spaces(
        "audit", "replay", space, "--format", "json", data_dir=server.data_dir).splitlines()
        if line.startswith("{")]
    cli_entries = [{k: v for k, v in line.items() if k != "kind"} for line in lines[:-1]]
    assert cli_entries == api["entries"]
    assert {k: v for k, v in lines[-1].items() if k != "kind"} == api["state"]
    assert api["state"]["removed"] == [troll.id] and api["state"]["state"] == "ended"

    table = spaces("audit", "replay", space, "--format", "table", data_dir=server.data_dir)
    assert "@host" in table and "removed" in table and "spam" in table and "@troll" in table

    first = http.get(f"/v1/audit/spaces/{space}/timeline", params={"limit": 2}, headers=auditor).json()
    rest = http.get(f"/v1/audit/spaces/{space}/timeline",
                    params={"cursor": first["next_cursor"]}, headers=auditor).json()
    assert first["entries"] + rest["entries"] == api["entries"] and rest["next_cursor"] is None
    page = http.get(f"/v1/audit/spaces/{space}/history", params={"cursor": 2, "limit": 2},
                    headers=auditor).json()
    assert [e["version"] for e in page] == [3, 4]

    assert http.get("/v1/audit/verify", headers=auditor).json()["intact"] is True
    assert "Intact" in spaces("audit", "verify", data_dir=server.data_dir)
    exported = [json.loads(line) for line in spaces("audit", "export", "--space", space,
                                                    data_dir=server.data_dir).splitlines()
                if line.startswith("{")]
    assert [e["action"] for e in exported] == ["speaker_granted", "user_removed"]

    reads = http.get("/v1/audit/reads", headers=auditor).json()["items"]
    whats = [(r["auditor"], r["what"]) for r in reads]
    assert ("ann", f"/v1/audit/spaces/{space}/timeline") in whats
    assert ("ann", "/v1/audit/verify") in whats
    assert any(who.startswith("cli:") and what == f"replay {space}" for who, what in whats)
    assert_problem(http.get("/v1/audit/reads", headers=host.auth), 403)


def test_an_operator_records_that_a_projection_passes_over_an_event(server):
    http = server.start()
    register(http, "host")
    said = spaces("views", "skip", "1", "--projection", "spaces", "--reason", "cannot be stored",
                  data_dir=server.data_dir)
    assert "spaces passes over position 1" in said
    for args, code, says in [
        (("1", "--projection", "spaces", "--reason", "again"), 1, "already skips position 1"),
        (("1", "--projection", "nowhere", "--reason", "x"), 2, "they are accounts, spaces"),
        (("99999", "--projection", "spaces", "--reason", "x"), 2, "no position 99999"),
        (("1", "--projection", "feed", "--reason", " "), 1, "say why"),
    ]:
        done = subprocess.run([str(BIN / "spaces"), "views", "skip", *args, "--data-dir",
                               str(server.data_dir)], capture_output=True, text=True,
                              env=clean_env(), timeout=60)
        assert done.returncode == code and says in done.stderr.lower(), done.stderr
    assert http.get("/healthz").json()["status"] == "ok"
