"""An HTTP endpoint for the webhook tests: keeps every request it answers, and can fail
the first few or hang."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self, port: int = 0, fail_first: int = 0, hang: float = 0.0):
        self.received: list[dict[str, Any]] = []  # every request, with the status it got
        self.fail_first, self.hang = fail_first, hang
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
                body = self.rfile.read(int(self.headers["content-length"]))
                if receiver.hang:
                    time.sleep(receiver.hang)
                with receiver._lock:
                    status = 500 if receiver.fail_first > 0 else 200
                    receiver.fail_first -= 1
                    receiver.received.append({"headers": {k.lower(): v for k, v in self.headers.items()},
                                              "body": body, "status": status})
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def accepted(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{**r, "event": json.loads(r["body"])} for r in self.received if r["status"] == 200]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
