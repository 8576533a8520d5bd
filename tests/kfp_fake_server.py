"""A local HTTP server that answers the KFP v2beta1 endpoints kfp.Client (2.17) calls, with state, recording each
request.

It keeps pipelines, versions, experiments and runs the way the KFP API server
does (ids, display names, list filters by display_name, pipelines in a namespace
or shared), answers 401 when a token is expected and a different one arrives,
403 when a multi-user install is asked to write a shared pipeline (KFP 2.16.1 and
later), and 404 on unknown paths, so the real ``kfp.Client`` can be driven
through a whole submission. Its health answer carries the version (tag_name).
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

API = "/apis/v2beta1"
STAMP = "2026-11-27T00:00:00Z"


class FakeKfp:
    def __init__(
        self,
        token: str | None = None,
        final_state: str = "SUCCEEDED",
        multi_user: bool = False,
        tag_name: str = "2.17.0",
        refuse_shared: bool | None = None,
    ):
        self.requests: list[dict[str, Any]] = []
        self.token, self.final_state, self.multi_user, self.tag_name = token, final_state, multi_user, tag_name
        self.refuse_shared = multi_user if refuse_shared is None else refuse_shared
        self.pipelines: dict[str, dict] = {}
        self.versions: dict[str, dict] = {}
        self.experiments: dict[str, dict] = {}
        self.runs: dict[str, dict] = {}
        self.polls: dict[str, int] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeKfp:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- the API's behaviour -----------------------------------------------------------------------

    def _new_version(self, pipeline_id: str, name: str) -> dict:
        version = {
            "pipeline_id": pipeline_id,
            "pipeline_version_id": f"v-{len(self.versions) + 1}",
            "display_name": name,
            "name": name,
            "created_at": STAMP,
        }
        self.versions[version["pipeline_version_id"]] = version
        return version

    def _filtered(self, items: list[dict], query: dict) -> list[dict]:
        if "filter" not in query:
            return items
        predicates = json.loads(query["filter"][0]).get("predicates", [])
        for predicate in predicates:
            key, value = predicate.get("key"), predicate.get("string_value", predicate.get("stringValue"))
            items = [item for item in items if item.get(key) == value]
        return items

    def answer(self, method: str, path: str, query: dict, body: bytes) -> tuple[int, dict]:
        if method == "GET" and path == f"{API}/healthz":
            return 200, {"multi_user": self.multi_user, "tag_name": self.tag_name, "commit_sha": "0" * 40}
        namespace = query.get("namespace", [""])[0]
        if method == "GET" and path == f"{API}/pipelines":
            found = self._filtered(
                [p for p in self.pipelines.values() if p.get("namespace", "") in ("", namespace)], query
            )
            return 200, ({"pipelines": found, "total_size": len(found)} if found else {})
        if method == "POST" and path == f"{API}/pipelines/upload":
            name = query.get("display_name", query.get("name", ["pipeline"]))[0]
            if self.refuse_shared and not namespace:
                return 403, {"error_message": "PermissionDenied: create pipelines in namespace kubeflow", "code": 7}
            if any(p["display_name"] == name and p.get("namespace", "") == namespace for p in self.pipelines.values()):
                return 409, {"error_message": f"pipeline {name} already exists", "code": 6}
            pipeline = {
                "pipeline_id": f"p-{len(self.pipelines) + 1}",
                "display_name": name,
                "name": name,
                "created_at": STAMP,
                **({"namespace": namespace} if namespace else {}),
            }
            self.pipelines[pipeline["pipeline_id"]] = pipeline
            self._new_version(pipeline["pipeline_id"], name)
            return 200, pipeline
        if method == "POST" and path == f"{API}/pipelines/upload_version":
            pipeline_id = query.get("pipelineid", [""])[0]
            if pipeline_id not in self.pipelines:
                return 404, {"error_message": f"pipeline {pipeline_id} not found", "code": 5}
            return 200, self._new_version(pipeline_id, query.get("name", ["version"])[0])
        if method == "GET" and (match := re.fullmatch(rf"{API}/pipelines/([^/]+)/versions", path)):
            versions = [v for v in self.versions.values() if v["pipeline_id"] == match[1]]
            return 200, {
                "pipeline_versions": sorted(versions, key=lambda v: v["pipeline_version_id"], reverse=True),
                "total_size": len(versions),
            }
        if method == "GET" and path == f"{API}/experiments":
            found = self._filtered(list(self.experiments.values()), query)
            return 200, ({"experiments": found, "total_size": len(found)} if found else {})
        if method == "POST" and path == f"{API}/experiments":
            sent = json.loads(body)
            experiment = {
                "experiment_id": f"e-{len(self.experiments) + 1}",
                "display_name": sent["display_name"],
                "created_at": STAMP,
            }
            self.experiments[experiment["experiment_id"]] = experiment
            return 200, experiment
        if method == "POST" and path == f"{API}/runs":
            sent = json.loads(body)
            run = {**sent, "run_id": f"r-{len(self.runs) + 1}", "state": "PENDING", "created_at": STAMP}
            self.runs[run["run_id"]] = run
            return 200, run
        if method == "GET" and path == f"{API}/runs":
            runs = [
                r
                for r in self.runs.values()
                if "experiment_id" not in query or r.get("experiment_id") == query["experiment_id"][0]
            ]
            return 200, {"runs": list(reversed(runs)), "total_size": len(runs)}
        if method == "GET" and (match := re.fullmatch(rf"{API}/runs/([^/]+)", path)):
            run = self.runs.get(match[1])
            if run is None:
                return 404, {"error_message": f"run {match[1]} not found", "code": 5}
            self.polls[run["run_id"]] = self.polls.get(run["run_id"], 0) + 1
            run["state"] = "RUNNING" if self.polls[run["run_id"]] < 2 else self.final_state
            return 200, run
        return 404, {"error_message": f"no such endpoint: {method} {path}", "code": 5}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                )
                url = urlparse(self.path)
                if fake.token is not None and self.headers.get("Authorization") != f"Bearer {fake.token}":
                    status, answer = 401, {"error_message": "Unauthorized", "code": 16}
                else:
                    status, answer = fake.answer(self.command, url.path, parse_qs(url.query), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _serve

        return Handler
