"""The only module that talks to Kubernetes (through the official `kubernetes` client, imported lazily).

Everything goes in and out as plain dicts, so code above this layer never sees client classes:

    cluster = Cluster.connect()                       # the lab cluster: labtools' own kubeconfig and context
    pods = cluster.list("v1", "Pod", namespace="default", label_selector="app=reviews")
    cluster.apply(objects)                            # server-side apply, every object dry-run first
    result = cluster.exec("curl-0", "default", ["curl", "-s", "http://httpbin:8000/get"])
    with cluster.port_forward("kiali-0", "istio-system", 20001) as local_port: ...

Safety: labtools never reads or writes the user's ~/.kube/config unless pointed at it, and never changes a current
context. A cluster reached through a context that labtools did not create can be read, but changing it (apply,
delete, patch) needs the user to have named that context (--context) or the caller to pass allow_foreign=True.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import select
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
import os
from typing import Any, Callable, ContextManager, Iterable, Iterator, List, Protocol, TypeVar  # List: inside Cluster, `list` is the method

from labtools import settings
from labtools.errors import EnvironmentBroken, InputError, UsageError

T = TypeVar("T")

# (connect, read) seconds for each API request: a stopped cluster must fail fast, not hang a notebook cell.
REQUEST_TIMEOUT = (5, 30)
FIELD_MANAGER = "labtools"
# Kinds that live outside namespaces, for code that must know without asking a cluster (files read offline, the
# Istio release's samples): a namespace written on them means nothing.
CLUSTER_WIDE = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
                          "StorageClass", "PriorityClass", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"})


def _plain(_client: Any, data: Any) -> Any:
    """Keep API responses as the JSON the server sent (the dynamic client would wrap them in its own classes)."""
    return data


@dataclass(frozen=True)
class ExecResult:
    stdout: str
    stderr: str
    exit_code: int

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def describe(obj: dict) -> str:
    """`Kind namespace/name` (or `Kind name` for cluster-wide objects), as messages name objects."""
    meta = obj.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind', '?')} {where}{meta.get('name', '?')}"


class ClusterAPI(Protocol):
    """What checks and probes may ask of a cluster: read objects, run a command in a pod, forward a port.

    `Cluster` is the real one; test stand-ins declare this too, and tests/kube/test_stand_ins.py keeps their
    signatures the same as Cluster's."""

    def server_version(self) -> dict: ...

    def list(self, api_version: str, kind: str, namespace: str | None = None,
             label_selector: str | None = None) -> list[dict]: ...

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None: ...

    def exec(self, pod: str, namespace: str, command: List[str], container: str | None = None,
             timeout: float = 30) -> ExecResult: ...

    def port_forward(self, pod: str, namespace: str, remote_port: int, local_port: int = 0) -> ContextManager[int]: ...


class Cluster:
    """One Kubernetes cluster reached through one kubeconfig context."""

    def __init__(self, api_client: Any, *, context: str, kubeconfig: Path, owned: bool, may_change: bool):
        self._api = api_client
        self._dynamic: Any = None
        self.context = context
        self.kubeconfig = kubeconfig
        self.owned = owned  # the lab cluster labtools made (its kubeconfig, its context)
        self.may_change = may_change
        self.host = api_client.configuration.host

    # --- connecting -------------------------------------------------------------------------------------------

    @classmethod
    def connect(cls, context: str | None = None, kubeconfig: Path | None = None, allow_foreign: bool = False) -> "Cluster":
        """The lab cluster by default; another context only where named.

        `context` given: the user named it, so it may be changed. Only `kubeconfig` given: its current context is
        used for reading, but changing that cluster is refused unless `allow_foreign`.
        """
        own_config = settings.kubeconfig_path()
        path = Path(kubeconfig).expanduser() if kubeconfig else own_config
        is_own_file = _same_file(path, own_config)
        if not path.is_file():
            if is_own_file:
                raise EnvironmentBroken(
                    f"No lab cluster: labtools' kubeconfig {path} does not exist yet.",
                    hint="Run `labtools up` to create the cluster.",
                )
            raise UsageError(f"kubeconfig {path} does not exist.", hint="Check the path given with --kubeconfig.")
        config = _read_kubeconfig(path)
        contexts = [c.get("name") for c in config.get("contexts") or [] if isinstance(c, dict)]
        if context is None:
            chosen = settings.CONTEXT_NAME if is_own_file else config.get("current-context")
            if not chosen:
                raise UsageError(f"{path} has no current context.", hint="Name one with --context.")
        else:
            chosen = context
        if chosen not in contexts:
            known = ", ".join(str(c) for c in contexts) or "none"
            if is_own_file and context is None:
                raise EnvironmentBroken(
                    f"No lab cluster: {path} has no context {chosen!r} (it has: {known}).",
                    hint="Run `labtools up` to create the cluster (or `labtools up --recreate` to start over).",
                )
            raise UsageError(f"Context {chosen!r} is not in {path} (contexts there: {known}).")
        owned = is_own_file and chosen == settings.CONTEXT_NAME
        from kubernetes import config as kube_config
        from kubernetes.config.config_exception import ConfigException

        try:
            api_client = kube_config.new_client_from_config(config_file=str(path), context=chosen, persist_config=False)
        except (ConfigException, OSError, ValueError, TypeError) as problem:
            raise EnvironmentBroken(f"Context {chosen!r} in {path} cannot be used: {problem}") from None
        return cls(
            api_client,
            context=chosen,
            kubeconfig=path,
            owned=owned,
            may_change=owned or context is not None or allow_foreign,
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._api.close()

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Cluster(context={self.context!r}, kubeconfig={str(self.kubeconfig)!r}, owned={self.owned})"

    # --- reading ----------------------------------------------------------------------------------------------

    def server_version(self) -> dict:
        """The API server's /version: gitVersion ('v1.34.11'), major, minor, platform."""
        dynamic = self._client()
        return self._call(
            "read the server version",
            lambda: dynamic.request("get", "/version", serializer=_plain, _request_timeout=REQUEST_TIMEOUT),
        )

    def namespaces(self) -> list[str]:
        return [ns["metadata"]["name"] for ns in self.list("v1", "Namespace")]

    def list(self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None) -> list[dict]:
        """Every object of a kind (in one namespace, or in all where `namespace` is None), as dicts with kind set."""
        resource = self._resource(api_version, kind)
        result = self._call(
            f"list {kind}",
            lambda: resource.get(
                namespace=namespace if resource.namespaced else None,
                label_selector=label_selector,
                serializer=_plain,
                _request_timeout=REQUEST_TIMEOUT,
            ),
        )
        items = result.get("items") or []
        for item in items:  # list responses leave these out of each item
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        """One object, or None where it does not exist."""
        from kubernetes.dynamic.exceptions import NotFoundError

        resource = self._resource(api_version, kind)
        try:
            found = self._call(
                f"read {kind} {name}",
                lambda: resource.get(
                    name=name, namespace=namespace if resource.namespaced else None, serializer=_plain, _request_timeout=REQUEST_TIMEOUT
                ),
                passthrough=(NotFoundError,),
            )
        except NotFoundError:
            return None
        return found

    def pods(self, namespace: str, label_selector: str | None = None) -> List[dict]:
        return self.list("v1", "Pod", namespace=namespace, label_selector=label_selector)

    def events(self, namespace: str, involved_name: str | None = None) -> List[dict]:
        """Events in a namespace (about one object where named), oldest first."""
        events = self.list("v1", "Event", namespace=namespace)
        if involved_name:
            events = [e for e in events if (e.get("involvedObject") or {}).get("name") == involved_name]
        return sorted(events, key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")

    def knows(self, api_version: str, kind: str) -> bool:
        """Whether the API server serves this kind (an Istio kind is served only once Istio's CRDs are installed)."""
        try:
            self._resource(api_version, kind)
        except InputError:
            return False
        return True

    # --- changing ---------------------------------------------------------------------------------------------

    def apply(self, objects: Iterable[dict], field_manager: str = FIELD_MANAGER) -> List[str]:
        """Server-side apply a set of objects, all or nothing: every object is dry-run first; any rejection applies
        nothing and raises InputError naming each rejected object and the API server's reason.

        Namespaces in the set are created before the dry run (objects inside them could not be checked otherwise).
        Returns `Kind namespace/name` for each object applied, in order.
        """
        self.require_change("apply objects")
        prepared = [self._prepare(obj, index) for index, obj in enumerate(objects)]
        created: list[str] = []
        for resource, body in prepared:
            if body["kind"] == "Namespace" and body["apiVersion"] == "v1":
                if self.get("v1", "Namespace", body["metadata"]["name"]) is None:
                    self._server_side_apply(resource, body, field_manager, dry_run=False)
                    created.append(body["metadata"]["name"])
        rejected = []
        for resource, body in prepared:
            problem = self._server_side_apply(resource, body, field_manager, dry_run=True, collect=True)
            if problem:
                rejected.append(f"{describe(body)}: {problem}")
        if rejected:
            nothing = "nothing was applied" if not created else f"nothing else was applied (namespace {', '.join(created)} was created to check the objects in it)"
            raise InputError(
                "The cluster rejected " + ("this object" if len(rejected) == 1 else f"{len(rejected)} objects")
                + f"; {nothing}:\n" + "\n".join("  " + line for line in rejected)
            )
        applied: list[str] = []
        for resource, body in prepared:
            problem = self._server_side_apply(resource, body, field_manager, dry_run=False, collect=True)
            if problem:
                done = ", ".join(applied) or "none"
                raise EnvironmentBroken(
                    f"Applying {describe(body)} failed after its dry run passed: {problem}",
                    hint=f"Already applied: {done}. Run the command again once the cluster is healthy.",
                )
            applied.append(describe(body))
        return applied

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete one object; False where it did not exist."""
        from kubernetes.dynamic.exceptions import NotFoundError

        self.require_change(f"delete {kind} {name}")
        resource = self._resource(api_version, kind)
        try:
            self._call(
                f"delete {kind} {name}",
                lambda: resource.delete(
                    name=name, namespace=namespace if resource.namespaced else None, serializer=_plain, _request_timeout=REQUEST_TIMEOUT
                ),
                passthrough=(NotFoundError,),
            )
        except NotFoundError:
            return False
        return True

    def patch(self, api_version: str, kind: str, name: str, namespace: str | None, patch: dict) -> dict:
        """JSON merge patch (RFC 7386) of one object; returns the object after the change."""
        self.require_change(f"change {kind} {name}")
        resource = self._resource(api_version, kind)
        return self._call(
            f"change {kind} {name}",
            lambda: resource.patch(
                body=patch,  # name and namespace travel in the URL
                name=name,
                namespace=namespace if resource.namespaced else None,
                content_type="application/merge-patch+json",
                serializer=_plain,
                _request_timeout=REQUEST_TIMEOUT,
            ),
        )

    # --- inside pods ------------------------------------------------------------------------------------------

    def exec(self, pod: str, namespace: str, command: List[str], container: str | None = None, timeout: float = 30) -> ExecResult:
        """Run a command in a pod's container (as `kubectl exec` does) and wait for it to finish."""
        from kubernetes import client
        from kubernetes.stream import stream

        core = client.CoreV1Api(self._api)
        kwargs = {"command": list(command), "stderr": True, "stdin": False, "stdout": True, "tty": False}
        if container:
            kwargs["container"] = container
        session = self._call(
            f"run {command[0]!r} in pod {namespace}/{pod}",
            lambda: stream(core.connect_get_namespaced_pod_exec, pod, namespace, _preload_content=False, **kwargs),
        )
        try:
            session.run_forever(timeout=timeout)
            if session.is_open():
                raise EnvironmentBroken(
                    f"`{' '.join(command)}` in pod {namespace}/{pod} did not finish within {timeout:g} s."
                )
            stdout, stderr = session.read_stdout(), session.read_stderr()
            try:
                code = session.returncode
            except (KeyError, IndexError, TypeError, ValueError, AttributeError):
                raise EnvironmentBroken(f"Pod {namespace}/{pod} closed the exec session without an exit status.") from None
        finally:
            session.close()
        return ExecResult(stdout or "", stderr or "", int(code))

    @contextlib.contextmanager
    def port_forward(self, pod: str, namespace: str, remote_port: int, local_port: int = 0) -> Iterator[int]:
        """Forward a local port on 127.0.0.1 to a pod's port while the block runs; yields the local port.

        Each TCP connection to the local port gets its own port-forward session with the API server (a session
        carries one stream per port), so browsers and HTTP clients with several connections work.
        """
        from kubernetes import client
        from kubernetes.stream import portforward

        core = client.CoreV1Api(self._api)

        def open_session() -> Any:
            return self._call(
                f"forward a port to pod {namespace}/{pod}",
                lambda: portforward(core.connect_get_namespaced_pod_portforward, pod, namespace, ports=str(remote_port)),
            )

        open_session().close()  # fail here, in the caller, if the pod cannot be reached at all
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(("127.0.0.1", local_port))
        except OSError as problem:
            listener.close()
            raise EnvironmentBroken(f"Cannot listen on 127.0.0.1:{local_port}: {problem.strerror or problem}") from None
        listener.listen(16)
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                ready, _, _ = select.select([listener], [], [], 0.2)
                if not ready:
                    continue
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                threading.Thread(target=_relay, args=(conn, open_session, remote_port, stop), daemon=True).start()

        acceptor = threading.Thread(target=serve, name=f"port-forward {pod}:{remote_port}", daemon=True)
        acceptor.start()
        try:
            yield listener.getsockname()[1]
        finally:
            stop.set()
            acceptor.join(timeout=2)
            listener.close()

    # --- waiting ----------------------------------------------------------------------------------------------

    def wait_for(self, what: str, condition: Callable[[], T | None], timeout: float, interval: float = 2.0) -> T:
        """Poll `condition` until it returns something truthy (returned) or `timeout` seconds pass (EnvironmentBroken)."""
        return poll(what, condition, timeout=timeout, interval=interval)

    # --- internals --------------------------------------------------------------------------------------------

    def require_change(self, action: str) -> None:
        """Raise UsageError unless this cluster may be changed (labtools' own, or a context the user named)."""
        if not self.may_change:
            raise UsageError(
                f"Refusing to {action} in context {self.context!r} ({self.kubeconfig}): labtools did not create it.",
                hint=f"If you mean that cluster, name it explicitly: --context {self.context}",
            )

    def _client(self) -> Any:
        if self._dynamic is None:
            from kubernetes.dynamic import DynamicClient
            from kubernetes.dynamic.discovery import LazyDiscoverer

            # Discovery is cached per API server in labtools' cache, not in the shared temp folder.
            key = hashlib.sha256(f"{self.host}|{self.kubeconfig}".encode()).hexdigest()[:24]
            cache = settings.cache_dir() / "discovery" / f"{key}.json"
            cache.parent.mkdir(parents=True, exist_ok=True)
            self._dynamic = self._call(
                "discover the API", lambda: DynamicClient(self._api, cache_file=str(cache), discoverer=LazyDiscoverer)
            )
        return self._dynamic

    def _resource(self, api_version: str, kind: str) -> Any:
        from kubernetes.dynamic.exceptions import ResourceNotFoundError, ResourceNotUniqueError

        dynamic = self._client()
        try:
            return self._call(
                f"look up {kind}",
                lambda: dynamic.resources.get(api_version=api_version, kind=kind),
                passthrough=(ResourceNotFoundError, ResourceNotUniqueError),
            )
        except ResourceNotFoundError:
            hint = "Is Istio installed? Run `labtools up`." if "istio.io" in api_version else None
            raise InputError(f"The cluster does not serve kind {kind} in apiVersion {api_version}.", hint) from None
        except ResourceNotUniqueError:
            raise InputError(f"kind {kind} in apiVersion {api_version} is ambiguous on this cluster.") from None

    def _prepare(self, obj: Any, index: int) -> tuple[Any, dict]:
        if not isinstance(obj, dict):
            raise InputError(f"Object #{index + 1} is not a mapping (got {type(obj).__name__}).")
        missing = [f for f in ("apiVersion", "kind") if not obj.get(f)]
        name = (obj.get("metadata") or {}).get("name") if isinstance(obj.get("metadata"), dict) else None
        if not name:
            missing.append("metadata.name")
        if missing:
            raise InputError(f"Object #{index + 1} ({obj.get('kind') or 'no kind'}) has no {', '.join(missing)}.")
        resource = self._resource(obj["apiVersion"], obj["kind"])
        body = json.loads(json.dumps(obj))  # a deep copy that is plain JSON
        meta = body["metadata"]
        if resource.namespaced:
            meta.setdefault("namespace", settings.DEFAULT_NAMESPACE)
        else:
            meta.pop("namespace", None)
        for server_owned in ("resourceVersion", "uid", "creationTimestamp", "managedFields", "generation"):
            meta.pop(server_owned, None)
        body.pop("status", None)
        return resource, body

    def _server_side_apply(self, resource: Any, body: dict, field_manager: str, dry_run: bool, collect: bool = False) -> str | None:
        from kubernetes.dynamic.exceptions import DynamicApiError

        meta = body["metadata"]
        try:
            self._call(
                f"apply {describe(body)}",
                lambda: resource.server_side_apply(
                    body=body,
                    name=meta["name"],
                    namespace=meta.get("namespace"),
                    field_manager=field_manager,
                    force_conflicts=True,  # labtools applies what the learner asked for, as `kubectl apply --force-conflicts`
                    dry_run="All" if dry_run else None,
                    serializer=_plain,
                    _request_timeout=REQUEST_TIMEOUT,
                ),
                passthrough=(DynamicApiError,),
            )
        except DynamicApiError as problem:
            if not collect or problem.status in (401, 403) or problem.status >= 500:
                raise _api_error(problem, f"apply {describe(body)}", self) from None
            return _status_message(problem)
        return None

    def _call(self, what: str, action: Callable[[], T], passthrough: tuple[type[BaseException], ...] = ()) -> T:
        """Run one API call, turning transport and server failures into EnvironmentBroken with a hint."""
        from kubernetes.client.exceptions import ApiException
        from kubernetes.dynamic.exceptions import DynamicApiError
        from urllib3.exceptions import HTTPError

        try:
            return action()
        except passthrough:
            raise
        except DynamicApiError as problem:
            raise _api_error(problem, what, self) from None
        except ApiException as problem:
            if problem.status == 0:  # the websocket transports report connection failures this way
                raise self._unreachable(what, problem.reason) from None
            raise _api_error(problem, what, self) from None
        except (HTTPError, OSError) as problem:
            raise self._unreachable(what, problem) from None

    def _unreachable(self, what: str, problem: object) -> EnvironmentBroken:
        reason = str(getattr(problem, "reason", None) or problem)
        if self.owned:
            hint = (
                "The lab cluster is not running. Start it with `labtools up` (after a reboot, Docker may need "
                f"`docker start {settings.CLUSTER_NAME}-control-plane`)."
            )
        else:
            hint = f"Check that the cluster of context {self.context!r} is running and reachable."
        return EnvironmentBroken(f"Cannot reach the Kubernetes API at {self.host} to {what}: {reason}", hint)


# --- helpers ----------------------------------------------------------------------------------------------------


def connect(context: str | None = None, kubeconfig: Path | None = None, allow_foreign: bool = False) -> Cluster:
    """The one way every command reaches a cluster: the lab cluster, or the context the user named.

    A named context that labtools' kubeconfig does not hold (or no labtools kubeconfig at all, as on a workshop
    learner's laptop) is looked up in the user's own kubeconfig ($KUBECONFIG's first file, else ~/.kube/config),
    where naming it allows changes (the safety rule of Cluster.connect). An explicit `kubeconfig` is used as given.
    """
    if kubeconfig is not None:
        return Cluster.connect(context, kubeconfig, allow_foreign=allow_foreign)
    try:
        return Cluster.connect(context, allow_foreign=allow_foreign)
    except (UsageError, EnvironmentBroken) as problem:
        user_config = user_kubeconfig() if context is not None else None
        if user_config is not None:
            return Cluster.connect(context, user_config, allow_foreign=allow_foreign)
        if isinstance(problem, UsageError):
            raise
        raise EnvironmentBroken(problem.message, problem.hint or "Run `labtools up` to create the lab cluster.") from None


def user_kubeconfig() -> Path | None:
    """The user's own kubeconfig file, where kubectl would look first; None if there is none."""
    first = (os.environ.get("KUBECONFIG") or "").split(os.pathsep)[0]
    path = Path(first).expanduser() if first else Path.home() / ".kube" / "config"
    return path if path.is_file() else None


def poll(what: str, condition: Callable[[], T | None], timeout: float, interval: float = 2.0) -> T:
    """Call `condition` until it returns something truthy; EnvironmentBroken naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise EnvironmentBroken(f"Timed out after {timeout:g} s waiting for {what}.")
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


def _relay(conn: socket.socket, open_session: Callable[[], Any], remote_port: int, stop: threading.Event) -> None:
    """Copy bytes both ways between a local connection and a port-forward session until either side closes."""
    try:
        session = open_session()
    except Exception:
        conn.close()
        return
    remote = session.socket(remote_port)
    remote.setblocking(True)
    try:
        while not stop.is_set():
            readable, _, _ = select.select([conn, remote], [], [], 0.2)
            for source in readable:
                target = remote if source is conn else conn
                data = source.recv(65536)
                if not data:
                    return
                target.sendall(data)
    except OSError:
        return
    finally:
        conn.close()
        with contextlib.suppress(Exception):
            session.close()


def _read_kubeconfig(path: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as problem:
        raise EnvironmentBroken(f"kubeconfig {path} cannot be read: {problem}") from None
    if not isinstance(data, dict):
        raise EnvironmentBroken(f"kubeconfig {path} is not a kubeconfig (no mapping at the top).")
    return data


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _status_message(problem: Any) -> str:
    """The API server's own explanation from a Status body, e.g. a schema violation with the field path."""
    body = getattr(problem, "body", None)
    try:
        status = json.loads(body) if isinstance(body, (str, bytes)) else None
    except ValueError:
        status = None
    if isinstance(status, dict) and status.get("message"):
        return f"{status['message']} (HTTP {problem.status})"
    return f"HTTP {problem.status} {getattr(problem, 'reason', '') or ''}".strip()


def _api_error(problem: Any, what: str, cluster: Cluster) -> EnvironmentBroken:
    message = _status_message(problem)
    if problem.status in (401, 403):
        return EnvironmentBroken(
            f"The Kubernetes API refused to {what} for context {cluster.context!r}: {message}",
            hint="The credentials in the kubeconfig do not allow this. For the lab cluster, `labtools up --recreate` starts over.",
        )
    return EnvironmentBroken(f"The Kubernetes API failed to {what}: {message}")
