"""The OpenAPI document tells the truth: schemathesis runs every check it has against
`spaces serve`, with a user's token and then an auditor's (the audit and webhook
endpoints), on a bounded number of examples (its example, coverage, fuzzing and stateful
phases). Left out, and why:"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support import BIN, Server, register, spaces

DEVIATIONS = {
    "not_a_server_error": "a read with ?after= past the views answers 503 by design (it is "
    "documented); a 500 still fails, as `status_code_conformance`: no operation documents 500",
    "positive_data_acceptance": "a schema-valid request can still break a domain rule (a start "
    "in the past, a Space that is not live, a caller who is not the host); those answers are "
    "documented 4xx problems",
    "ensure_resource_availability": "the stateful phase links a new Space to invitations of "
    "made-up user ids; the 404 there names the unknown user, not the Space",
}
# schemathesis cannot write SDP; the media tests offer real SDP (resuming a session too)
NO_SDP = "audio/(publish|listen)$|^PATCH .*/audio/sessions/"
# a signed-in caller's notification stream never ends (tests/unit/test_http_notifications.py
# reads it)
ENDLESS = "^GET /v1/notifications/stream$"
DEAD_END = "http://127.0.0.1:9/spaces-hook"  # the discard port: nothing answers


def schemathesis(url: str, token: str, *paths: str, config: Path | None = None
                 ) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "st"), *(("--config-file", str(config)) if config else ()),
         "run", f"{url}/openapi.json", "--checks", "all",
         "--exclude-checks", ",".join(DEVIATIONS),
         "--max-examples", "10", "--workers", "1", "--seed", "1",
         "-H", f"Authorization: Bearer {token}", *paths],
        capture_output=True, text=True, timeout=600)


def test_schemathesis_finds_nothing_the_openapi_document_does_not_say(tmp_path):
    server = Server(tmp_path / "data", {"SPACES_READ_YOUR_WRITES_TIMEOUT": "0.2",
                                        "SPACES_SIGNUP_BURST": "100000",
                                        "SPACES_WEBHOOKS_ALLOW_PRIVATE": "1"})
    http = server.start()
    try:
        user = register(http, "tester")
        done = schemathesis(server.url, user.token, "--exclude-name-regex",
                            f"{NO_SDP}|{ENDLESS}|^[A-Z]+ /v1/audit")
        assert done.returncode == 0, done.stdout[-6000:]
        auditor = spaces("auditor-token", "ann", data_dir=server.data_dir).strip()
        # the webhook endpoints with an endpoint that exists and URLs that resolve (nothing
        # listens there: its deliveries fail and wait for their retries)
        hook = http.post("/v1/webhooks", json={"url": DEAD_END},
                         headers={"Authorization": f"Bearer {auditor}"})
        assert hook.status_code == 201, hook.text
        config = tmp_path / "schemathesis.toml"
        config.write_text(f'[parameters]\nwebhook_id = "{hook.json()["id"]}"\n'
                          f'"body.url" = "{DEAD_END}"\n')
        done = schemathesis(server.url, auditor, "--include-path-regex", "^/v1/(audit|webhooks)",
                            config=config)
        assert done.returncode == 0, done.stdout[-6000:]
    finally:
        server.stop()
