"""A small Kubernetes API server for the ops CLI tests, speaking the real REST paths and rules.

It serves the objects in `fixtures/kubernetes/` (recorded-style JSON of a 1.35 cluster running the
application) and implements what the CLI's calls rely on, the way the real API server does:
bearer-token authentication; Deployments (GET, PATCH with strategic-merge or merge patches, a
json-patch with an object body refused as the real server refuses it, a changed spec (pod template or
replica count) bumping `metadata.generation` and rolling out over the next reads); pods with label selectors; logs with
`container`, `tailLines` and `previous`; events; ExternalSecrets (strategic merge refused with 415,
as for every custom resource; a changed `force-sync` annotation refreshed the way External Secrets
does); and the service proxy to kube-prometheus-stack's Prometheus. Paths are percent-decoded as
Go's HTTP server does. Every request is recorded for the tests to inspect.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

FIXTURES = Path(__file__).parent / "fixtures" / "kubernetes"
TOKEN = "emulator-token"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str
    body: Any


@dataclass
class ClusterState:
    deployments: dict[tuple[str, str], dict[str, Any]]
    pods: list[dict[str, Any]]
    events: list[dict[str, Any]]
    logs: dict[str, str]  # "<pod>/<container>" or "<pod>/<container>/previous"
    external_secrets: dict[tuple[str, str], dict[str, Any]]
    prometheus: dict[str, Any]  # proxied path -> JSON; a missing path answers 503
    prometheus_service: str = "kube-prometheus-stack-prometheus:http-web"
    rollout_reads: int = 2  # reads after a restart until the rollout completes
    stuck: set[str] = field(default_factory=set)  # Deployments whose rollout never completes
    requests: list[Request] = field(default_factory=list)
    _pending: dict[tuple[str, str], int] = field(default_factory=dict)

    @classmethod
    def from_fixtures(cls) -> ClusterState:
        def load(name: str) -> Any:
            return json.loads((FIXTURES / name).read_text(encoding="utf-8"))

        deployments = {(item["metadata"]["namespace"], item["metadata"]["name"]): item for item in load("deployments.json")["items"]}
        secrets = {(item["metadata"]["namespace"], item["metadata"]["name"]): item for item in load("externalsecrets.json")["items"]}
        return cls(
            deployments=deployments,
            pods=load("pods.json")["items"],
            events=load("events.json")["items"],
            logs=load("logs.json"),
            external_secrets=secrets,
            prometheus={"api/v1/alerts": load("prometheus-alerts.json"), "api/v1/targets": load("prometheus-targets.json")},
        )

    def patches(self, kind_path: str) -> list[Request]:
        return [request for request in self.requests if request.method == "PATCH" and kind_path in request.path]


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}


def _selector_matches(selector: str, labels: dict[str, str]) -> bool:
    for requirement in re.split(r",(?![^()]*\))", selector):
        requirement = requirement.strip()
        if not requirement:
            continue
        in_set = re.fullmatch(r"([\w./-]+)\s+in\s+\(([^)]*)\)", requirement)
        if in_set:
            if labels.get(in_set.group(1)) not in {value.strip() for value in in_set.group(2).split(",")}:
                return False
            continue
        key, _, value = requirement.partition("=")
        if labels.get(key.strip()) != value.strip().lstrip("="):
            return False
    return True


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
        data = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _request(self) -> Request | None:
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, _status(401, "Unauthorized", "Unauthorized"))
            return None
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        request = Request(self.command, unquote(parts.path), parse_qs(parts.query), self.headers.get("Content-Type", ""), body)
        self.server.state.requests.append(request)
        return request

    def do_GET(self) -> None:
        request = self._request()
        if request is not None:
            code, body, content_type = self.server.route(request)
            self._send(code, body, content_type)

    def do_PATCH(self) -> None:
        self.do_GET()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: ClusterState):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state
        self.lock = threading.Lock()

    def route(self, request: Request) -> tuple[int, Any, str]:
        with self.lock:
            return self._route(request)

    def _route(self, request: Request) -> tuple[int, Any, str]:
        state, path = self.state, request.path
        match = re.fullmatch(r"/apis/apps/v1/namespaces/([^/]+)/deployments/([^/]+)", path)
        if match:
            key = (match.group(1), match.group(2))
            if key not in state.deployments:
                return 404, _status(404, "NotFound", f'deployments.apps "{key[1]}" not found'), "application/json"
            if request.method == "PATCH":
                problem = self._patch_problem(request, custom=False)
                if problem:
                    return problem
                deployment = state.deployments[key]
                before = copy.deepcopy(deployment["spec"])
                _merge(deployment, request.body)
                if deployment["spec"] != before:  # any spec change (template, replicas) is a new generation
                    deployment["metadata"]["generation"] += 1
                    state._pending[key] = state.rollout_reads
                return 200, deployment, "application/json"
            self._progress(key)
            return 200, state.deployments[key], "application/json"
        match = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods", path)
        if match:
            selector = request.query.get("labelSelector", [""])[0]
            items = [pod for pod in state.pods if pod["metadata"]["namespace"] == match.group(1)]
            items = [pod for pod in items if _selector_matches(selector, pod["metadata"].get("labels", {}))]
            return 200, {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items}, "application/json"
        match = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods/([^/]+)/log", path)
        if match:
            container = request.query.get("container", [""])[0]
            previous = request.query.get("previous", ["false"])[0] == "true"
            key = f"{match.group(2)}/{container}" + ("/previous" if previous else "")
            if key not in state.logs:
                message = f'previous terminated container "{container}" in pod "{match.group(2)}" not found'
                return 400, _status(400, "BadRequest", message), "application/json"
            lines = state.logs[key].splitlines(keepends=True)
            tail = int(request.query.get("tailLines", ["0"])[0] or 0)
            return 200, "".join(lines[-tail:] if tail else lines), "text/plain"
        match = re.fullmatch(r"/api/v1/namespaces/([^/]+)/events", path)
        if match:
            items = [event for event in state.events if event["metadata"]["namespace"] == match.group(1)]
            return 200, {"kind": "EventList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items}, "application/json"
        match = re.fullmatch(r"/apis/external-secrets\.io/v1/namespaces/([^/]+)/externalsecrets/([^/]+)", path)
        if match:
            key = (match.group(1), match.group(2))
            if key not in state.external_secrets:
                return 404, _status(404, "NotFound", f'externalsecrets.external-secrets.io "{key[1]}" not found'), "application/json"
            secret = state.external_secrets[key]
            if request.method == "PATCH":
                problem = self._patch_problem(request, custom=True)
                if problem:
                    return problem
                before = secret["metadata"].get("annotations", {}).get("force-sync")
                _merge(secret, request.body)
                if secret["metadata"].get("annotations", {}).get("force-sync") != before:  # External Secrets reconciles
                    refreshed = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                    secret["status"] = {
                        "refreshTime": refreshed,
                        "conditions": [{"type": "Ready", "status": "True", "reason": "SecretSynced", "message": "secret synced"}],
                    }
            return 200, secret, "application/json"
        match = re.fullmatch(r"/api/v1/namespaces/monitoring/services/([^/]+)/proxy/(.+)", path)
        if match:
            if match.group(1) != state.prometheus_service:
                return 404, _status(404, "NotFound", f'services "{match.group(1)}" not found'), "application/json"
            if match.group(2) not in state.prometheus:
                return 503, _status(503, "ServiceUnavailable", "no endpoints available for service"), "application/json"
            return 200, state.prometheus[match.group(2)], "application/json"
        return 404, _status(404, "NotFound", f"the server could not find the requested resource ({path})"), "application/json"

    def _patch_problem(self, request: Request, custom: bool) -> tuple[int, Any, str] | None:
        content_type = request.content_type.split(";")[0]
        if content_type == "application/json-patch+json" and not isinstance(request.body, list):
            message = "json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp"
            return 400, _status(400, "BadRequest", message), "application/json"
        if custom and content_type == "application/strategic-merge-patch+json":
            return (
                415,
                _status(415, "UnsupportedMediaType", "strategic merge patch is not supported for custom resources"),
                "application/json",
            )
        if content_type not in ("application/strategic-merge-patch+json", "application/merge-patch+json"):
            return (
                415,
                _status(415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {content_type}"),
                "application/json",
            )
        return None

    def _progress(self, key: tuple[str, str]) -> None:
        """Advance a pending rollout by one read, the way the Deployment controller would over time."""
        state = self.state
        if key not in state._pending:
            return
        deployment = state.deployments[key]
        desired = deployment["spec"]["replicas"]
        status = deployment["status"]
        status["observedGeneration"] = deployment["metadata"]["generation"]
        if key[1] in state.stuck:
            status.update(updatedReplicas=1, replicas=desired + 1, availableReplicas=desired, unavailableReplicas=1)
            status["conditions"] = [
                {
                    "type": "Progressing",
                    "status": "False",
                    "reason": "ProgressDeadlineExceeded",
                    "message": f'ReplicaSet "{key[1]}-7d9c" has timed out progressing.',
                }
            ]
            return
        state._pending[key] -= 1
        if state._pending[key] > 0:
            status.update(updatedReplicas=1, replicas=desired + 1, availableReplicas=desired)
        else:
            status.update(updatedReplicas=desired, replicas=desired, availableReplicas=desired, readyReplicas=desired)
            del state._pending[key]


class KubernetesEmulator:
    """Runs the server on a loopback port and writes a kubeconfig whose context is the EKS cluster's."""

    def __init__(self, state: ClusterState, context: str):
        self.state = state
        self.context = context
        self._server = _Server(state)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def kubeconfig(self) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "emulator", "user": {"token": TOKEN}}],
            "contexts": [{"name": self.context, "context": {"cluster": "emulator", "user": "emulator"}}],
            "current-context": self.context,
        }

    def __enter__(self) -> KubernetesEmulator:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
