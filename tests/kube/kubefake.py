"""A local Kubernetes API server for tests: kmock's in-memory emulator, served over real HTTP on 127.0.0.1.

kmock (PyPI) answers discovery, list, get, create, merge-patch and delete like an API server keeps objects.
What a real API server does beyond that, and labtools relies on, is added here, kept small and explicit:
  * server-side apply (PATCH application/apply-patch+yaml): create-or-merge, `dryRun=All` stores nothing, and a
    test can make objects fail validation (HTTP 422 with a Status message, as the API server answers). Field
    ownership as the API server keeps it per fieldManager: a field a manager applied before and leaves out now
    is removed unless another manager owns it (lists are atomic here, where the API server merges some by key);
  * label selectors on lists (equality only: app=x,version=v1);
  * Deployments report themselves available once applied (a stand-in for the controller), unless told not to;
  * exec and port-forward over WebSocket, speaking the channel protocols the kubernetes client speaks
    (v4.channel.k8s.io: one byte of channel, 1 stdout, 2 stderr, 3 the Status); exec handlers run on a worker
    thread, so a slow command does not hold up the list and get requests served meanwhile;
  * Namespaces themselves (kmock 0.8 reads /api/v1/namespaces/<name> as a namespace prefix, not an object);
  * paged lists (`limit` and `continue`), TokenRequest (POST .../serviceaccounts/<name>/token);
  * what a remote, busy API server does to a client: `latency` seconds before every answer, and `throttle_every`
    N-th request answered 429 with `Retry-After` (API Priority and Fairness), counted in `requests_answered`.

The server runs its asyncio loop in a background thread so that labtools' synchronous client code runs unchanged.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import socket
import threading
import urllib.request
from pathlib import Path
from typing import Any, Callable

import aiohttp
import aiohttp.web
import attrs
import kmock
import pytest
import yaml

# kind: (apiVersion, plural, namespaced)
RESOURCES = {
    "Namespace": ("v1", "namespaces", False),
    "Pod": ("v1", "pods", True),
    "Service": ("v1", "services", True),
    "ServiceAccount": ("v1", "serviceaccounts", True),
    "ConfigMap": ("v1", "configmaps", True),
    "Secret": ("v1", "secrets", True),
    "Event": ("v1", "events", True),
    "Deployment": ("apps/v1", "deployments", True),
    "StatefulSet": ("apps/v1", "statefulsets", True),
    "DaemonSet": ("apps/v1", "daemonsets", True),
    "ClusterRole": ("rbac.authorization.k8s.io/v1", "clusterroles", False),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    "Role": ("rbac.authorization.k8s.io/v1", "roles", True),
    "RoleBinding": ("rbac.authorization.k8s.io/v1", "rolebindings", True),
    "CustomResourceDefinition": ("apiextensions.k8s.io/v1", "customresourcedefinitions", False),
}
ISTIO_RESOURCES = {
    "Gateway": ("networking.istio.io/v1", "gateways", True),
    "VirtualService": ("networking.istio.io/v1", "virtualservices", True),
    "DestinationRule": ("networking.istio.io/v1", "destinationrules", True),
    "PeerAuthentication": ("security.istio.io/v1", "peerauthentications", True),
    "AuthorizationPolicy": ("security.istio.io/v1", "authorizationpolicies", True),
}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


# every kind any server was told about, for the test helpers' paths (path_for)
KNOWN: dict[str, tuple[str, str, bool]] = {}


def declare(server: kmock.KubernetesEmulator, kinds: dict[str, tuple[str, str, bool]]) -> None:
    KNOWN.update(kinds)
    for kind, (api_version, plural, namespaced) in kinds.items():
        info = kmock.ResourceInfo(kind=kind, namespaced=namespaced, verbs=VERBS, singular=kind.lower())
        if kind == "Pod":
            info.subresources = {"exec", "portforward", "log"}
        if kind == "Deployment":
            info.subresources = {"status", "scale"}
        server.resources[f"{api_version}/{plural}"] = info


@attrs.define(kw_only=True)
class ApiServer(kmock.KubernetesEmulator):
    # name: a function (object) -> error message or None, run on every apply (the API server's validation).
    validators: list[Callable[[dict], str | None]] = attrs.field(factory=list)
    deployments_become_ready: bool = True
    # (namespace, pod) -> function(command) -> (stdout, stderr, exit code)
    exec_handlers: dict[tuple[str, str], Callable[[list[str]], tuple[str, str, int]]] = attrs.field(factory=dict)
    # (namespace, pod, port) -> (host, port) of a local TCP server standing in for the pod's port
    forward_targets: dict[tuple[str, str, int], tuple[str, int]] = attrs.field(factory=dict)
    server_version: dict = attrs.field(factory=lambda: {
        "major": "1", "minor": "34", "gitVersion": "v1.34.11", "gitCommit": "0000000", "gitTreeState": "clean",
        "buildDate": "2026-08-20T00:00:00Z", "goVersion": "go1.24.6", "compiler": "gc", "platform": "linux/amd64"})
    namespace_objects: dict[str, dict] = attrs.field(factory=dict)
    # path -> HTTP status to answer with (e.g. 403), to test how clients take refusals
    refuse: dict[str, int] = attrs.field(factory=dict)
    # (resource, namespace, name) -> fieldManager -> the leaf paths it applied (server-side apply's managedFields)
    managed_fields: dict[tuple, dict[str, set[tuple]]] = attrs.field(factory=dict)
    latency: float = 0.0
    throttle_every: int = 0
    reset_every: int = 0  # every N-th request: the connection is dropped without an answer
    retry_after: str = "0"
    requests_answered: int = 0
    throttled: int = 0
    # (namespace, account) -> expirationSeconds of every token issued
    tokens_issued: list[tuple[str, str, int]] = attrs.field(factory=list)
    max_token_seconds: int = 0  # like --service-account-max-token-expiration: 0 means no cap
    # kmock keeps every request and walks them on each new one (quadratic): a benchmark of thousands turns it off.
    record_requests: bool = True

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        self.requests_answered += 1
        if not self.record_requests:
            self._requests.clear()
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.throttle_every and self.requests_answered % self.throttle_every == 0:
            self.throttled += 1
            response = _status(429, "TooManyRequests", "Too many requests, please try again later.")
            response.headers["Retry-After"] = self.retry_after
            return response
        if self.reset_every and self.requests_answered % self.reset_every == 0 and raw_request.transport is not None:
            raw_request.transport.abort()
            return aiohttp.web.Response(status=499)  # never reaches the client
        token = re.fullmatch(r"/api/v1/namespaces/([^/]+)/serviceaccounts/([^/]+)/token", raw_request.path)
        if token and raw_request.method == "POST":
            return await self._token(raw_request, token.group(1), token.group(2))
        if raw_request.path in self.refuse:
            code = self.refuse[raw_request.path]
            return _status(code, "Forbidden" if code == 403 else "Refused", f"refused by the test (HTTP {code})")
        match = re.fullmatch(r"/api/v1/namespaces(?:/([^/]+))?/?", raw_request.path)
        if match:
            return await self._namespaces(raw_request, match.group(1))
        return await super().__call__(raw_request)

    async def _token(self, raw: aiohttp.web.BaseRequest, namespace: str, account: str) -> aiohttp.web.StreamResponse:
        if namespace not in self.namespace_objects:
            return _status(404, "NotFound", f'namespaces "{namespace}" not found')
        key = (kmock.resource(group="", version="v1", plural="serviceaccounts"), namespace, account)
        if key not in self._objects or self._objects[key].deleted:
            return _status(404, "NotFound", f'serviceaccounts "{account}" not found')
        body = json.loads(await raw.read() or b"{}")
        seconds = int((body.get("spec") or {}).get("expirationSeconds") or 3600)
        if self.max_token_seconds:
            seconds = min(seconds, self.max_token_seconds)
        self.tokens_issued.append((namespace, account, seconds))
        import datetime

        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
        return aiohttp.web.json_response({
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "metadata": {"name": account, "namespace": namespace},
            "spec": {"expirationSeconds": seconds, "audiences": []},
            "status": {"token": f"token-for-{namespace}", "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}},
            status=201)

    async def _namespaces(self, raw: aiohttp.web.BaseRequest, name: str | None) -> aiohttp.web.StreamResponse:
        body = await raw.read()
        data = json.loads(body) if body else None
        if name is None and raw.method == "GET":
            items = [copy.deepcopy(ns) for ns in self.namespace_objects.values()]
            return _paged(raw.query, {"kind": "NamespaceList", "apiVersion": "v1", "metadata": {}, "items": items})
        if name is None and raw.method == "POST":
            name = data["metadata"]["name"]
            if name in self.namespace_objects:
                return _status(409, "AlreadyExists", f'namespaces "{name}" already exists')
            self.namespace_objects[name] = {**data, "status": {"phase": "Active"}}
            return aiohttp.web.json_response(self.namespace_objects[name], status=201)
        current = self.namespace_objects.get(name)
        if raw.method == "GET":
            return aiohttp.web.json_response(current) if current else _status(404, "NotFound", f'namespaces "{name}" not found')
        if raw.method == "DELETE":
            if current is None:
                return _status(404, "NotFound", f'namespaces "{name}" not found')
            return aiohttp.web.json_response(self.namespace_objects.pop(name))
        if raw.method == "PATCH":
            if current is None and raw.content_type != "application/apply-patch+yaml":
                return _status(404, "NotFound", f'namespaces "{name}" not found')
            merged = _merge(copy.deepcopy(current or {}), data)
            merged.setdefault("status", {"phase": "Active"})
            if raw.query.get("dryRun") != "All":
                self.namespace_objects[name] = merged
            return aiohttp.web.json_response(merged, status=200 if current else 201)
        return _status(405, "MethodNotAllowed", raw.method)

    async def _handle(self, request: Any) -> aiohttp.web.StreamResponse:
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip()
        if request.url.path.rstrip("/") == "/version":
            return aiohttp.web.json_response(self.server_version)
        if request.resource is not None and request.subresource == "exec":
            return await self._exec(request)
        if request.resource is not None and request.subresource == "portforward":
            return await self._port_forward(request)
        if request.method == "PATCH" and content_type == "application/apply-patch+yaml" and request.name:
            return await self._server_side_apply(request)
        response = await super()._handle(request)
        if request.action == kmock.action.LIST and request.params.get("labelSelector"):
            response = self._filter_by_labels(response, request.params["labelSelector"])
        if request.action == kmock.action.LIST and request.params.get("limit"):
            return _paged(request.params, json.loads(response.body))
        return response

    # --- server-side apply -------------------------------------------------------------------------------------

    async def _server_side_apply(self, request: Any) -> aiohttp.web.StreamResponse:
        body = request.data if isinstance(request.data, dict) else yaml.safe_load(request.text)
        if request.params.get("fieldManager") in (None, ""):
            return _status(400, "BadRequest", "PATCH requests with apply-patch+yaml need a fieldManager")
        for validate in self.validators:
            problem = validate(body)
            if problem:
                kind, name = body.get("kind"), body["metadata"]["name"]
                return _status(422, "Invalid", f'{kind}.{body["apiVersion"].split("/")[0]} "{name}" is invalid: {problem}')
        namespace = request.namespace
        if namespace and namespace not in self.namespace_objects:
            return _status(404, "NotFound", f'namespaces "{namespace}" not found')
        key = (request.resource, namespace, request.name)
        async with self._lock:
            current = self._objects[key].raw if key in self._objects and not self._objects[key].deleted else None
            merged = _merge(copy.deepcopy(current) if current else {}, body)
            owners = self.managed_fields.setdefault(key, {}) if current else {}
            manager, applied = request.params["fieldManager"], set(_leaf_paths(body))
            others = set().union(*(paths for name, paths in owners.items() if name != manager))
            for path in owners.get(manager, set()) - applied - others:
                _remove(merged, path)
            merged["metadata"].setdefault("uid", f"uid-{request.name}")
            merged["metadata"].setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
            if body.get("kind") == "Deployment" and self.deployments_become_ready:
                replicas = (merged.get("spec") or {}).get("replicas", 1)
                merged["status"] = {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                                    "updatedReplicas": replicas, "observedGeneration": 1}
            if body.get("kind") == "CustomResourceDefinition":  # served at once, as a real API server soon does
                merged["status"] = {"conditions": [{"type": "Established", "status": "True"}]}
            if request.params.get("dryRun") == "All":
                return aiohttp.web.json_response(merged)
            for name in owners:  # forced: what this manager applies now is no longer anyone else's
                owners[name] -= applied
            owners[manager] = applied
            self.managed_fields[key] = owners
            if key in self._objects:
                if self._objects[key].deleted:
                    self._objects[key].create(merged)
                else:  # the merged object replaces the stored one: fields removed above must not come back
                    self._objects[key].delete()
                    self._objects[key].create(merged)
            else:
                self._objects[key] = merged
            await self._buses[request.resource].put({"type": "MODIFIED" if current else "ADDED", "object": merged})
        return aiohttp.web.json_response(merged, status=200 if current else 201)

    def _filter_by_labels(self, response: aiohttp.web.StreamResponse, selector: str) -> aiohttp.web.StreamResponse:
        wanted = dict(part.split("=", 1) for part in selector.split(",") if "=" in part)
        data = json.loads(response.body)
        data["items"] = [
            item for item in data.get("items", [])
            if all(((item.get("metadata") or {}).get("labels") or {}).get(k) == v for k, v in wanted.items())
        ]
        return aiohttp.web.json_response(data)

    # --- exec and port-forward over WebSocket ----------------------------------------------------------------

    async def _exec(self, request: Any) -> aiohttp.web.StreamResponse:
        raw = request._raw_request
        command = raw.query.getall("command", [])
        handler = self.exec_handlers.get((request.namespace, request.name))
        ws = aiohttp.web.WebSocketResponse(protocols=("v4.channel.k8s.io",))
        await ws.prepare(raw)
        if handler is None:
            status = {"status": "Failure", "reason": "NotFound", "message": f'pods "{request.name}" not found'}
            await ws.send_bytes(b"\x03" + json.dumps(status).encode())
        else:
            stdout, stderr, code = await asyncio.to_thread(handler, command)
            if stdout:
                await ws.send_bytes(b"\x01" + stdout.encode())
            if stderr:
                await ws.send_bytes(b"\x02" + stderr.encode())
            if code == 0:
                status = {"metadata": {}, "status": "Success"}
            else:
                status = {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
                          "message": f"command terminated with non-zero exit code: {code}",
                          "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}
            await ws.send_bytes(b"\x03" + json.dumps(status).encode())
        await ws.close()
        return ws

    async def _port_forward(self, request: Any) -> aiohttp.web.StreamResponse:
        raw = request._raw_request
        port = int(raw.query.get("ports", "0"))
        target = self.forward_targets.get((request.namespace, request.name, port))
        ws = aiohttp.web.WebSocketResponse(protocols=("v4.channel.k8s.io", "portforward.k8s.io"))
        await ws.prepare(raw)
        # Each channel (0 data, 1 error) first carries the port number, little-endian.
        await ws.send_bytes(b"\x00" + port.to_bytes(2, "little"))
        await ws.send_bytes(b"\x01" + port.to_bytes(2, "little"))
        if target is None:
            await ws.send_bytes(b"\x01" + f"pod {request.name} has nothing listening on port {port}".encode())
            await ws.close()
            return ws
        reader, writer = await asyncio.open_connection(*target)

        async def upstream_to_client() -> None:
            while data := await reader.read(65536):
                await ws.send_bytes(b"\x00" + data)
            await ws.close()

        pump = asyncio.create_task(upstream_to_client())
        try:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.BINARY and message.data[:1] == b"\x00":
                    writer.write(message.data[1:])
                    await writer.drain()
        finally:
            writer.close()
            pump.cancel()
        return ws


def _paged(params: Any, data: dict) -> aiohttp.web.Response:
    """One page of a list: `limit` items from the offset the `continue` token names (an opaque string to clients)."""
    limit = int(params.get("limit") or 0)
    if not limit:
        return aiohttp.web.json_response(data)
    start = int(params.get("continue") or 0)
    items = data.get("items") or []
    data["items"] = items[start:start + limit]
    data.setdefault("metadata", {})
    if start + limit < len(items):
        data["metadata"]["continue"] = str(start + limit)
        data["metadata"]["remainingItemCount"] = len(items) - start - limit
    return aiohttp.web.json_response(data)


def _status(code: int, reason: str, message: str) -> aiohttp.web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}
    return aiohttp.web.json_response(body, status=code)


def _leaf_paths(obj: dict, prefix: tuple = ()) -> list[tuple]:
    """The fields an applied object sets, as paths to leaves (a list counts as one leaf); identity fields left out."""
    paths = []
    for key, value in obj.items():
        path = prefix + (key,)
        if path in (("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")):
            continue
        paths += _leaf_paths(value, path) if isinstance(value, dict) and value else [path]
    return paths


def _remove(obj: dict, path: tuple) -> None:
    for key in path[:-1]:
        obj = obj.get(key) if isinstance(obj, dict) else None
        if not isinstance(obj, dict):
            return
    obj.pop(path[-1], None)


def _merge(base: dict, changes: dict) -> dict:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


class RunningApiServer:
    """An ApiServer on a random port, in its own thread. Use as a context manager."""

    def __init__(self, istio: bool = True, **options: Any):
        self.options = options
        self.istio = istio
        self.url = ""
        self.handler: ApiServer | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="fake-apiserver")
        self._error: BaseException | None = None

    def __enter__(self) -> "RunningApiServer":
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"fake API server did not start: {self._error!r}")
        if self._error:
            raise self._error
        for name in ("default", "kube-system"):
            self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._main())
        except BaseException as problem:  # surfaced to the test in __enter__
            self._error = problem
            self._ready.set()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with ApiServer(**self.options) as handler, kmock.Server(handler) as server:
            declare(handler, RESOURCES)
            if self.istio:
                declare(handler, ISTIO_RESOURCES)
            self.handler = handler
            self.url = str(server.url).rstrip("/")
            self._ready.set()
            await self._stop.wait()

    # --- helpers for tests: go through HTTP like any client -------------------------------------------------

    def path_for(self, kind: str, namespace: str | None = None, name: str | None = None) -> str:
        api_version, plural, namespaced = {**KNOWN, **RESOURCES, **ISTIO_RESOURCES}[kind]
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        where = f"/namespaces/{namespace}" if namespaced and namespace else ""
        return f"{prefix}{where}/{plural}" + (f"/{name}" if name else "")

    def create(self, obj: dict) -> dict:
        meta = obj["metadata"]
        namespaced = {**KNOWN, **RESOURCES, **ISTIO_RESOURCES}[obj["kind"]][2]
        namespace = meta.setdefault("namespace", "default") if namespaced else None
        return self.request("POST", self.path_for(obj["kind"], namespace), obj)

    def objects(self, kind: str, namespace: str | None = None) -> list[dict]:
        return self.request("GET", self.path_for(kind, namespace))["items"]

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def requests(self) -> list[Any]:
        """Every request the server received, as kmock recorded them."""
        assert self.handler is not None
        return list(self.handler._requests)

    def set_ready(self, ready: bool) -> None:
        assert self.handler is not None
        self.handler.deployments_become_ready = ready

    def write_kubeconfig(self, path: Path, context: str, current: bool = True) -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": context, "user": {"token": "test-token"}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            "current-context": context if current else "",
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config))
        return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- fixtures for the test folders that use this server (their conftest.py imports them) -------------------------


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """A cache of each test's own: API discovery and the test releases unpacked there must not leak into other tests
    (tests/conftest.py shares one cache per session)."""
    monkeypatch.setenv("LABTOOLS_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def cluster(api):
    """The lab cluster as labtools sees it: its own kubeconfig and context, pointing at the local API server `api`."""
    from labtools import settings
    from labtools.kube import Cluster

    api.write_kubeconfig(settings.kubeconfig_path(), settings.CONTEXT_NAME)
    with Cluster.connect() as connected:
        yield connected
