"""A test "integrator": an app with accounts of its own whose backend holds an API key and
mints short-lived tokens for its users, as the README's example does."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt


@dataclass
class Integrator:
    key_id: str
    secret: str
    audience: str = "spaces"

    def token(self, sub: str, handle: str | None = None, *, lifetime: int = 600,
              grants: dict[str, Any] | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": self.key_id, "aud": self.audience, "sub": sub, "iat": now,
                   "exp": now + lifetime, "jti": secrets.token_hex(8),
                   "preferred_username": handle, "grants": grants or {"roles": ["user"]},
                   **claims}
        return jwt.encode({k: v for k, v in payload.items() if v is not None}, self.secret,
                          algorithm="HS256", headers={"kid": self.key_id})

    def auth(self, sub: str, handle: str | None = None, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(sub, handle, **claims)}"}


def new_integrator(system: Any, name: str = "acme", roles: tuple[str, ...] = ("user",)) -> Integrator:
    """A key made as `spaces keys create` makes it, on a running system."""
    key_id = system.key_secrets.new_key_id()
    made = system.key_secrets.new(key_id)
    system.app.create_key(key_id, name, list(roles), made.salt, made.fingerprint, "test")
    return Integrator(key_id, made.secret, system.settings.token_audience)


def parse_created(output: str) -> Integrator:
    """The key id and secret `spaces keys create` printed."""
    values = dict(line.split("=", 1) for line in output.splitlines() if "=" in line
                  and line.split("=", 1)[0] in ("key_id", "secret"))
    return Integrator(values["key_id"], values["secret"])
