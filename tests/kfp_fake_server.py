"""A local HTTP server that answers the KFP v2beta1 endpoints kfp.Client calls, recording each request."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeKfp:
    def __init__(self):
        self.requests: list[dict[str, Any]] = []
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "FakeKfp":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _reply(self, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
                return body

            def do_GET(self):
                self._record()
                path = self.path.split("?")[0]
                if path.endswith("/healthz"):
                    return self._reply({"multi_user": False})
                if path.endswith("/versions"):
                    return self._reply({"pipeline_versions": [{"pipeline_id": "p-1", "pipeline_version_id": "v-1"}], "total_size": 1})
                if path.endswith("/experiments"):
                    return self._reply({"experiments": [], "total_size": 0})
                return self._reply({})

            def do_POST(self):
                self._record()
                path = self.path.split("?")[0]
                if path.endswith("/pipelines/upload"):
                    return self._reply({"pipeline_id": "p-1", "display_name": "trashseg"})
                if path.endswith("/experiments"):
                    return self._reply({"experiment_id": "e-1", "display_name": "trashseg"})
                if path.endswith("/runs"):
                    return self._reply({"run_id": "r-1", "display_name": "run", "experiment_id": "e-1"})
                return self._reply({})

        return Handler
