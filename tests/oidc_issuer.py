"""A tiny OpenID Connect issuer on 127.0.0.1 for the tests: its discovery document and JWKS
served by http.server on a thread, RSA (or EC) keys it can rotate, and tokens it mints."""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa


class Issuer:
    def __init__(self) -> None:
        self.keys: list[tuple[str, Any, str]] = []  # (kid, private key, alg): published ones
        self.requests: list[str] = []
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                issuer.requests.append(self.path)
                if self.path == "/.well-known/openid-configuration":
                    body: Any = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks"}
                elif self.path == "/jwks":
                    body = {"keys": [issuer.public_jwk(kid, key, alg) for kid, key, alg in issuer.keys]}
                else:
                    self.send_error(404)
                    return
                raw = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Issuer:
        self.rotate()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def jwks_fetches(self) -> int:
        return self.requests.count("/jwks")

    def rotate(self, keep_old: bool = False, alg: str = "RS256") -> tuple[str, Any]:
        """A new signing key; the old ones stay published only with `keep_old`."""
        key: Any = (ec.generate_private_key(ec.SECP256R1()) if alg == "ES256"
                    else rsa.generate_private_key(public_exponent=65537, key_size=2048))
        kid = "k-" + secrets.token_hex(4)
        self.keys = ([*self.keys] if keep_old else []) + [(kid, key, alg)]
        return kid, key

    @staticmethod
    def public_jwk(kid: str, key: Any, alg: str) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(alg)
        jwk = json.loads(algorithm.to_jwk(key.public_key()))
        return {**jwk, "kid": kid, "alg": alg, "use": "sig"}

    def mint(self, sub: str = "oidc-user-1", *, audience: str = "spaces-app",
             key: tuple[str, Any] | None = None, alg: str | None = None,
             **claims: Any) -> str:
        kid, private = key or self.keys[-1][:2]
        now = int(time.time())
        payload = {"iss": self.url, "aud": audience, "sub": sub, "iat": now, "exp": now + 600,
                   "jti": secrets.token_hex(8), **claims}
        algorithm = alg or next((a for k, _, a in self.keys if k == kid), "RS256")
        return jwt.encode({k: v for k, v in payload.items() if v is not None}, private,
                          algorithm=algorithm, headers={"kid": kid})
