"""The only module that talks to Kubernetes (through the official `kubernetes` client, imported lazily).

Everything goes in and out as plain dicts, so code above this layer never sees client classes:

    cluster = connect()                               # the lab cluster, or the context the user named (--context)
    pods = cluster.list("v1", "Pod", namespace="default", label_selector="app=reviews")
    cluster.apply(objects)                            # server-side apply, every object dry-run first
    result = cluster.exec("curl-0", "default", ["curl", "-s", "http://httpbin:8000/get"])
    with cluster.port_forward("kiali-0", "istio-system", 20001) as local_port: ...

Safety: labtools never reads or writes the user's ~/.kube/config unless pointed at it (--kubeconfig, or a --context
that only that file holds), and never writes it or changes its current context. A cluster reached through a context that labtools did not create can be read, but changing it (apply,
delete, patch) needs the user to have named that context (--context) or the caller to pass allow_foreign=True.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import random
import re
import select
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterable, Iterator, List, Protocol, TypeVar  # List: inside Cluster, `list` is the method

from labtools import settings
from labtools.errors import EnvironmentBroken, InputError, UsageError

T = TypeVar("T")

# (connect, read) seconds for each API request: a stopped cluster must fail fast, not hang a notebook cell.
REQUEST_TIMEOUT = (5, 30)
# Requests the client library makes on its own (discovery: /version, /api, /apis) carry no timeout of their own;
# they get this one. It is short because discovery answers are small and come first: a server that accepted the
# connection but does not answer is found out here, before any real work.
DISCOVERY_TIMEOUT = (5, 10)
# The read timeout bounds each wait for bytes; these bound a whole answer, so that one trickled a byte at a time or
# sent for ever ends too. A list of every pod of a large cluster is tens of MB.
ANSWER_DEADLINE_S = 60
MAX_ANSWER_BYTES = 256 * 1024 * 1024
FIELD_MANAGER = "labtools"  # what labs apply: the learner's files, reset, solve
# What `labtools up` installs (Istio's addons, Bookinfo, samples) is applied under a manager of its own: server-side
# apply removes the fields a manager applied before and leaves out now, so a learner's lab 01 Service, applied under
# the same manager, would strip the addon Service's other fields.
COMPONENTS_FIELD_MANAGER = "labtools-components"
# The kubeconfig context extension in which `labtools workshop` hands each learner the workshop's settings.
WORKSHOP_EXTENSION = "labtools.dev/workshop"
# Kinds that live outside namespaces, for code that must know without asking a cluster (files read offline, the
# Istio release's samples): a namespace written on them means nothing.
CLUSTER_WIDE = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
                          "StorageClass", "PriorityClass", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"})


# Transient answers, retried for every verb (server-side apply is idempotent): 429 is API Priority and Fairness
# throttling a burst, 503 an API server restarting or overloaded; both may say when to come back (Retry-After,
# RFC 6585 section 4 / RFC 9110 section 10.2.3). Waits grow 0.2, 0.4, ... s up to RETRY_CAP, with jitter, and never
# past the command's deadline (Cluster.retry_until) or RETRY_BUDGET seconds of waiting for one call.
TRANSIENT_STATUSES = frozenset({429, 503})
RETRY_FIRST, RETRY_CAP, RETRY_BUDGET = 0.2, 5.0, 60.0
LIST_PAGE = 500  # items per page of a paged list (`limit`/`continue`), the page size kubectl uses


def _transient_wait(problem: BaseException) -> float | None:
    """Seconds the server asked to wait (0 when it did not say) if `problem` is worth retrying, else None."""
    from http.client import RemoteDisconnected

    from urllib3.exceptions import ProtocolError

    status = getattr(problem, "status", None)
    if isinstance(status, int) and status in TRANSIENT_STATUSES:
        headers = getattr(problem, "headers", None) or {}
        try:
            return max(0.0, float(headers.get("Retry-After") or 0))
        except (TypeError, ValueError):  # an HTTP date instead of seconds: fall back to our own backoff
            return 0.0
    if isinstance(problem, (ConnectionResetError, ConnectionAbortedError, RemoteDisconnected, ProtocolError)):
        return 0.0
    return None


def _import_dynamic_client() -> None:
    """Import kubernetes.dynamic without kubernetes_validate. The dynamic client imports it (and with it jsonschema:
    about a second of CPU) only for client-side validation, which labtools never asks for; a class of learners
    checking at once on a small machine would spend that second each. Importing it later elsewhere still works."""
    import sys

    if "kubernetes" in sys.modules or "kubernetes_validate" in sys.modules:
        return
    hidden = ("kubernetes_validate", "kubernetes_validate.utils")
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        import kubernetes  # noqa: F401  (its __init__ imports kubernetes.dynamic)
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


def _leave_status_retries_to_labtools(api_client: Any) -> None:
    """For a client made elsewhere (Cluster.connect turns urllib3's retries off altogether): urllib3's default Retry
    would itself wait out a 429/503's Retry-After on GETs, with no cap and no deadline; Cluster._retrying does that
    within the command's deadline, so urllib3 keeps only its quick connection retries."""
    from urllib3.util.retry import Retry

    pool = getattr(getattr(api_client, "rest_client", None), "pool_manager", None)
    if pool is not None and "retries" not in pool.connection_pool_kw:
        pool.connection_pool_kw["retries"] = Retry(total=3, status=0, respect_retry_after_header=False, raise_on_status=False)


def _bounded_exec(method: Callable[..., T]) -> Callable[..., T]:
    """Run `method` (exec) holding one of the cluster's exec slots, where the kubeconfig bounds them (workshop mode)."""
    @functools.wraps(method)
    def bounded(self: "Cluster", *args: Any, **kwargs: Any) -> T:
        with self.exec_slots():
            return method(self, *args, **kwargs)

    return bounded


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
        _leave_status_retries_to_labtools(api_client)
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
        _import_dynamic_client()
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
        listed = config.get("contexts")
        if listed is not None and not isinstance(listed, list):
            raise EnvironmentBroken(f"kubeconfig {path}: `contexts` is a {type(listed).__name__}, not a list of contexts.")
        contexts = [c.get("name") for c in listed or [] if isinstance(c, dict)]
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
        from kubernetes import client as kube_client
        from kubernetes import config as kube_config
        from kubernetes.config.config_exception import ConfigException

        configuration = type.__call__(kube_client.Configuration)  # not the library's shared default configuration
        # No urllib3 retries: its default retries a timed-out read 3 more times (4 x 30 s for one call). A call
        # that fails is reported at once; retrying what is worth retrying is decided above urllib3.
        configuration.retries = False
        try:
            api_client = kube_config.new_client_from_config(
                config_file=str(path), context=chosen, persist_config=False, client_configuration=configuration
            )
        except (ConfigException, OSError, ValueError, TypeError, KeyError, AttributeError) as problem:
            raise EnvironmentBroken(f"Context {chosen!r} in {path} cannot be used: {problem or type(problem).__name__}") from None
        _require_server_address(api_client.configuration.host, chosen, path)
        _bound_every_request(api_client)
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
            self._retrying(lambda: dynamic.request("get", "/version", serializer=_plain, _request_timeout=REQUEST_TIMEOUT)),
        )

    def namespaces(self) -> list[str]:
        return [ns["metadata"]["name"] for ns in self.list("v1", "Namespace")]

    def list(self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None) -> list[dict]:
        """Every object of a kind (in one namespace, or in all where `namespace` is None), as dicts with kind set."""
        check_namespace(namespace)
        resource = self._resource(api_version, kind)
        result = self._call(
            f"list {kind}",
            self._retrying(lambda: resource.get(
                namespace=namespace if resource.namespaced else None,
                label_selector=label_selector,
                serializer=_plain,
                _request_timeout=REQUEST_TIMEOUT,
            )),
        )
        return self._items(result, api_version, kind)

    def _items(self, result: Any, api_version: str, kind: str) -> List[dict]:
        """The objects of a list answer, with apiVersion and kind set (list answers leave them out of each item)."""
        items = result.get("items") if isinstance(result, dict) else None
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise self._not_kubernetes(f"list {kind}", f"its answer has no list of objects under `items` ({_shape(result)})")
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        """One object, or None where it does not exist."""
        from kubernetes.dynamic.exceptions import NotFoundError

        check_namespace(namespace)
        check_object_name(name, kind)
        resource = self._resource(api_version, kind)
        try:
            found = self._call(
                f"read {kind} {name}",
                self._retrying(lambda: resource.get(
                    name=name, namespace=namespace if resource.namespaced else None, serializer=_plain, _request_timeout=REQUEST_TIMEOUT
                )),
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

    def apply(self, objects: Iterable[dict], field_manager: str = FIELD_MANAGER, *, dry_run: bool = True) -> List[str]:
        """Server-side apply a set of objects, all or nothing: every object is dry-run first; any rejection applies
        nothing and raises InputError naming each rejected object and the API server's reason.

        Namespaces in the set are created before the dry run (objects inside them could not be checked otherwise).
        `dry_run=False` skips the dry run, for a caller that has just dry-run a set differing only in namespace.
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
        for resource, body in prepared if dry_run else []:
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
        for index, (resource, body) in enumerate(prepared):
            try:
                problem = self._server_side_apply(resource, body, field_manager, dry_run=False, collect=True)
            except EnvironmentBroken as broken:  # the cluster failed part-way: say exactly what it now holds
                problem = broken.message
            if problem:
                not_applied = [describe(rest) for _, rest in prepared[index:]]
                made = f" (namespace {', '.join(created)} was created)" if created else ""
                raise EnvironmentBroken(
                    f"Applying {describe(body)} failed after the dry run of all objects passed: {problem}\n"
                    f"  applied before the failure{made}: {', '.join(applied) or 'nothing'}\n"
                    f"  not applied: {', '.join(not_applied)}",
                    hint="Run the same apply again once the cluster is healthy: it applies everything again.",
                )
            applied.append(describe(body))
        return applied

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete one object; False where it did not exist."""
        from kubernetes.dynamic.exceptions import NotFoundError

        self.require_change(f"delete {kind} {name}")
        check_namespace(namespace)
        check_object_name(name, kind)
        resource = self._resource(api_version, kind)
        try:
            self._call(
                f"delete {kind} {name}",
                self._retrying(lambda: resource.delete(
                    name=name, namespace=namespace if resource.namespaced else None, serializer=_plain, _request_timeout=REQUEST_TIMEOUT
                )),
                passthrough=(NotFoundError,),
            )
        except NotFoundError:
            return False
        return True

    def patch(self, api_version: str, kind: str, name: str, namespace: str | None, patch: dict) -> dict:
        """JSON merge patch (RFC 7386) of one object; returns the object after the change."""
        self.require_change(f"change {kind} {name}")
        check_namespace(namespace)
        check_object_name(name, kind)
        resource = self._resource(api_version, kind)
        return self._call(
            f"change {kind} {name}",
            self._retrying(lambda: resource.patch(
                body=patch,  # name and namespace travel in the URL
                name=name,
                namespace=namespace if resource.namespaced else None,
                content_type="application/merge-patch+json",
                serializer=_plain,
                _request_timeout=REQUEST_TIMEOUT,
            )),
        )

    # --- at scale: retries, paged lists, tokens, workshop settings (used by the workshop commands) -------------

    # A command with an overall deadline (a time.monotonic() instant) sets this: retries never wait past it.
    retry_until: float | None = None
    retries = 0  # transient answers retried so far (429, 503, connection resets), for reports and benchmarks
    _exec_gate: Any = None

    @contextlib.contextmanager
    def retry_deadline(self, seconds: float) -> Iterator[None]:
        """While the block runs, retries of transient answers never wait past `seconds` from now (a command's
        overall deadline); the previous deadline comes back afterwards."""
        previous = self.retry_until
        self.retry_until = time.monotonic() + seconds
        try:
            yield
        finally:
            self.retry_until = previous

    def _retrying(self, action: Callable[[], T]) -> Callable[[], T]:
        """`action`, retried on transient answers with Retry-After and capped exponential backoff (see above)."""
        def attempt() -> T:
            started, delay = time.monotonic(), RETRY_FIRST
            while True:
                try:
                    return action()
                except Exception as problem:
                    asked = _transient_wait(problem)
                    if asked is None:
                        raise
                    pause = max(asked, delay * random.uniform(0.5, 1.0))
                    limit = started + RETRY_BUDGET if self.retry_until is None else min(self.retry_until, started + RETRY_BUDGET)
                    if time.monotonic() + pause > limit:
                        raise
                    self.retries += 1
                    time.sleep(pause)
                    delay = min(delay * 2, RETRY_CAP)

        return attempt

    def list_all(self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None,
                 page: int = LIST_PAGE) -> List[dict]:
        """Like `list`, in pages of `page` items (`limit` and `continue`), so that a list of a whole class's objects
        neither times out nor weighs on the API server. A continue token that expired (HTTP 410) starts over once.
        (Kubernetes docs, API concepts: "Retrieving large results sets in chunks".)"""
        from kubernetes.dynamic.exceptions import DynamicApiError

        check_namespace(namespace)
        resource = self._resource(api_version, kind)
        for restart in (False, True):
            items: List[dict] = []
            token: str | None = None
            try:
                while True:
                    result = self._call(
                        f"list {kind}",
                        self._retrying(lambda: resource.get(
                            namespace=namespace if resource.namespaced else None, label_selector=label_selector,
                            limit=page, _continue=token, serializer=_plain, _request_timeout=REQUEST_TIMEOUT)),
                        passthrough=(DynamicApiError,),
                    )
                    items.extend(self._items(result, api_version, kind))
                    token = (result.get("metadata") or {}).get("continue") or None
                    if not token:
                        break
            except DynamicApiError as problem:
                if problem.status == 410 and not restart:
                    continue
                raise _api_error(problem, f"list {kind}", self) from None
            return items
        return []  # not reached: the second pass returns or raises

    def request_token(self, namespace: str, account: str, seconds: int) -> tuple[str, str]:
        """A token for ServiceAccount `namespace/account` valid for about `seconds` (TokenRequest, POST
        .../serviceaccounts/NAME/token). Returns (token, expirationTimestamp): the API server may shorten the
        lifetime (--service-account-max-token-expiration), so callers read the expiry it answers with."""
        from kubernetes import client

        self.require_change(f"issue a token for ServiceAccount {namespace}/{account}")
        core = client.CoreV1Api(self._api)
        body: Any = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": int(seconds)}}
        response = self._call(
            f"issue a token for ServiceAccount {namespace}/{account}",
            self._retrying(lambda: core.create_namespaced_service_account_token(
                account, namespace, body, _preload_content=False, _request_timeout=REQUEST_TIMEOUT)),
        )
        try:
            status = json.loads(getattr(response, "data", b"")).get("status") or {}
            return str(status["token"]), str(status.get("expirationTimestamp") or "")
        except (ValueError, KeyError, AttributeError):
            raise EnvironmentBroken(f"The API server answered a token request for {namespace}/{account} without a token.") from None

    def context_extension(self, name: str) -> dict:
        """The extension `name` of this cluster's kubeconfig context (a `labtools workshop` kubeconfig carries the
        workshop's ingress address there), or {}. kubeconfig contexts hold `extensions: [{name, extension}]`
        (k8s.io/client-go/tools/clientcmd/api/v1 NamedExtension)."""
        try:
            config = _read_kubeconfig(Path(self.kubeconfig))
        except EnvironmentBroken:
            return {}
        for entry in config.get("contexts") or []:
            if isinstance(entry, dict) and entry.get("name") == self.context:
                for extension in (entry.get("context") or {}).get("extensions") or []:
                    if isinstance(extension, dict) and extension.get("name") == name and isinstance(extension.get("extension"), dict):
                        return extension["extension"]
        return {}

    def exec_slots(self) -> Any:
        """A context manager holding one exec slot: bounded by the kubeconfig's workshop extension (execConcurrency),
        so that a class of learners checking at once does not open thousands of exec streams; else unbounded."""
        if self._exec_gate is None:
            limit = self.context_extension(WORKSHOP_EXTENSION).get("execConcurrency")
            self._exec_gate = threading.BoundedSemaphore(int(limit)) if isinstance(limit, int) and limit > 0 else False
        return self._exec_gate or contextlib.nullcontext()

    # --- inside pods ------------------------------------------------------------------------------------------

    @_bounded_exec
    def exec(self, pod: str, namespace: str, command: List[str], container: str | None = None, timeout: float = 30) -> ExecResult:
        """Run a command in a pod's container (as `kubectl exec` does) and wait for it to finish."""
        from kubernetes.stream import stream

        kwargs = {"command": list(command), "stderr": True, "stdin": False, "stdout": True, "tty": False}
        if container:
            kwargs["container"] = container
        with self._session_api() as core:
            session = self._call(
                f"run {command[0]!r} in pod {namespace}/{pod}",
                lambda: stream(core.connect_get_namespaced_pod_exec, pod, namespace, _preload_content=False, **kwargs),
            )
            return self._finish_exec(session, pod, namespace, command, timeout)

    def _finish_exec(self, session: Any, pod: str, namespace: str, command: List[str], timeout: float) -> ExecResult:
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
        from kubernetes.stream import portforward

        @contextlib.contextmanager
        def open_session() -> Iterator[Any]:
            with self._session_api() as core:
                session = self._call(
                    f"forward a port to pod {namespace}/{pod}",
                    lambda: portforward(core.connect_get_namespaced_pod_portforward, pod, namespace, ports=str(remote_port)),
                )
                try:
                    yield session
                finally:
                    with contextlib.suppress(Exception):
                        session.close()

        with open_session():  # fail here, in the caller, if the pod cannot be reached at all
            pass
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
        """Call `condition` until it returns something truthy (returned); EnvironmentBroken naming `what` after
        `timeout` seconds. (Live checks wait with labtools.probes.poll, which reports what it last saw instead.)"""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise EnvironmentBroken(f"Timed out after {timeout:g} s waiting for {what}.")
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))

    # --- internals --------------------------------------------------------------------------------------------

    def require_change(self, action: str) -> None:
        """Raise UsageError unless this cluster may be changed (labtools' own, or a context the user named)."""
        if not self.may_change:
            raise UsageError(
                f"Refusing to {action} in context {self.context!r} ({self.kubeconfig}): labtools did not create it.",
                hint=f"If you mean that cluster, name it explicitly: --context {self.context}",
            )

    @contextlib.contextmanager
    def _session_api(self) -> Iterator[Any]:
        """A CoreV1Api on an ApiClient of its own (same configuration) for one exec or port-forward session.

        The client's stream()/portforward() replace the given ApiClient's call_api with a websocket one for the
        duration of the call and then put back what they found (kubernetes/stream/stream.py, _websocket_request).
        On the shared client, overlapping sessions on several threads put back each other's websocket function, and
        list/get calls elsewhere then fail with "Handshake status 200 OK" (kubernetes-client/python#928).
        """
        from kubernetes import client

        api_client = client.ApiClient(self._api.configuration)
        try:
            yield client.CoreV1Api(api_client)
        finally:
            with contextlib.suppress(Exception):
                api_client.close()

    def _client(self) -> Any:
        if self._dynamic is None:
            from kubernetes.dynamic import DynamicClient
            from kubernetes.dynamic.discovery import LazyDiscoverer

            # Discovery is cached per API server in labtools' cache, not in the shared temp folder.
            key = hashlib.sha256(f"{self.host}|{self.kubeconfig}".encode()).hexdigest()[:24]
            cache = settings.cache_dir() / "discovery" / f"{key}.json"
            cache.parent.mkdir(parents=True, exist_ok=True)
            self._dynamic = self._call(
                "discover the API",
                self._retrying(lambda: DynamicClient(self._api, cache_file=str(cache), discoverer=LazyDiscoverer)),
            )
        return self._dynamic

    def _resource(self, api_version: str, kind: str) -> Any:
        from kubernetes.dynamic.exceptions import ResourceNotFoundError, ResourceNotUniqueError

        dynamic = self._client()
        try:
            return self._call(
                f"look up {kind}",
                self._retrying(lambda: dynamic.resources.get(api_version=api_version, kind=kind)),
                passthrough=(ResourceNotFoundError, ResourceNotUniqueError),
            )
        except ResourceNotFoundError:
            hint = ("Is Istio installed? Run `labtools up`." if "istio.io" in api_version else
                    "Are the Gateway API's CRDs installed? Run `labtools up`." if "gateway.networking.k8s.io" in api_version
                    else None)
            raise InputError(f"The cluster does not serve kind {kind} in apiVersion {api_version}.", hint) from None
        except ResourceNotUniqueError:
            raise InputError(f"kind {kind} in apiVersion {api_version} is ambiguous on this cluster.") from None

    def _prepare(self, obj: Any, index: int) -> tuple[Any, dict]:
        if not isinstance(obj, dict):
            raise InputError(f"Object #{index + 1} is not a mapping (got {type(obj).__name__}).")
        missing = [f for f in ("apiVersion", "kind") if not obj.get(f)]
        name = (obj.get("metadata") or {}).get("name") if isinstance(obj.get("metadata"), dict) else None
        if name is None or name == "":
            missing.append("metadata.name")
        if missing:
            raise InputError(f"Object #{index + 1} ({obj.get('kind') or 'no kind'}) has no {', '.join(missing)}.")
        if not isinstance(name, str):  # `name: 42` in YAML is a number, which Kubernetes refuses
            raise InputError(f"Object #{index + 1} ({obj['kind']}): metadata.name is a {type(name).__name__} "
                             f"({name!r}); write it as a string, in quotes.")
        check_object_name(name, str(obj["kind"]))
        namespace = obj["metadata"].get("namespace")
        if namespace is not None:
            check_namespace(namespace, f"Object #{index + 1} ({obj['kind']} {name}): metadata.namespace")
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
                self._retrying(lambda: resource.server_side_apply(
                    body=body,
                    name=meta["name"],
                    namespace=meta.get("namespace"),
                    field_manager=field_manager,
                    force_conflicts=True,  # labtools applies what the learner asked for, as `kubectl apply --force-conflicts`
                    dry_run="All" if dry_run else None,
                    serializer=_plain,
                    _request_timeout=REQUEST_TIMEOUT,
                )),
                passthrough=(DynamicApiError,),
            )
        except DynamicApiError as problem:
            if not collect or problem.status in (401, 403, 429) or problem.status >= 500:
                raise _api_error(problem, f"apply {describe(body)}", self) from None
            return _status_message(problem)
        return None

    def _call(self, what: str, action: Callable[[], T], passthrough: tuple[type[BaseException], ...] = ()) -> T:
        """Run one API call, turning transport and server failures into EnvironmentBroken with a hint."""
        from kubernetes.client.exceptions import ApiException
        from kubernetes.dynamic.exceptions import DynamicApiError
        from urllib3.exceptions import HTTPError, ReadTimeoutError

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
        except (AnswerTooSlow, AnswerTooLarge) as problem:
            raise EnvironmentBroken(f"the API server at {self.host} started answering but {problem} (to {what}).",
                                    hint=f"Check that the cluster of context {self.context!r} is healthy.") from None
        except (ReadTimeoutError, TimeoutError, socket.timeout) as problem:
            raise self._silent(what, problem) from None
        except (HTTPError, OSError) as problem:
            raise self._unreachable(what, problem) from None
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError) as problem:
            # The client library parsing an answer that is not the Kubernetes API's (an HTML page, a proxy's error).
            raise self._not_kubernetes(what, f"{type(problem).__name__}: {str(problem)[:200]}") from None

    def _silent(self, what: str, problem: object) -> EnvironmentBroken:
        found = re.search(r"read timeout=([0-9.]+)", str(problem))  # urllib3 names the limit it applied
        within = f" within {float(found.group(1)):g} s" if found else ""
        return EnvironmentBroken(
            f"the API server at {self.host} accepted the connection but did not answer{within} (to {what}).",
            hint=f"Check that the cluster of context {self.context!r} is healthy (it may be overloaded or stopped "
            "half-way); `labtools doctor` looks at the lab cluster.",
        )

    def _not_kubernetes(self, what: str, detail: str) -> EnvironmentBroken:
        return EnvironmentBroken(
            f"The server at {self.host} did not answer like a Kubernetes API server (to {what}): {detail}.",
            hint=f"Check the server address of context {self.context!r} in {self.kubeconfig}.",
        )

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


def _relay(conn: socket.socket, open_session: Callable[[], contextlib.AbstractContextManager[Any]], remote_port: int,
           stop: threading.Event) -> None:
    """Copy bytes both ways between a local connection and a port-forward session until either side closes."""
    try:
        with open_session() as session:
            remote = session.socket(remote_port)
            remote.setblocking(True)
            while not stop.is_set():
                readable, _, _ = select.select([conn, remote], [], [], 0.2)
                for source in readable:
                    target = remote if source is conn else conn
                    data = source.recv(65536)
                    if not data:
                        return
                    target.sendall(data)
    except Exception:  # a session that cannot open, or a side that went away: this connection ends here
        return
    finally:
        conn.close()


_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def check_namespace(namespace: str | None, option: str = "namespace", required: bool = False) -> None:
    """Refuse what is not a namespace name (a DNS label) before it goes into a URL: `../../api/v1/secrets?x=`
    would otherwise address another resource. None or "" mean no namespace (cluster-wide) unless `required`."""
    if (namespace is None or namespace == "") and not required:
        return
    if not isinstance(namespace, str) or len(namespace) > 63 or not _NAMESPACE.fullmatch(namespace):
        raise UsageError(f"{option} {namespace!r} is not a namespace name (lowercase letters, digits and '-', "
                         "at most 63, starting and ending with a letter or digit).")


def check_object_name(name: str, kind: str) -> None:
    """Refuse an object name that would change the URL it goes into (a path separator, a query, `..`)."""
    if (not isinstance(name, str) or not name or len(name) > 253 or name in (".", "..")
            or any(c in "/?#%\\" or c.isspace() or ord(c) < 32 or ord(c) == 127 for c in name)):
        raise UsageError(f"{name!r} is not a valid name for a {kind}.")


def _require_server_address(host: Any, context: str, path: Path) -> None:
    """The context's cluster must name an http(s) server with a host and a real port, before anything is sent."""
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url

    try:
        parsed = parse_url(host) if isinstance(host, str) and host else None
    except (LocationParseError, ValueError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise EnvironmentBroken(
            f"Context {context!r} in {path} has no usable API server address (cluster.server is {host or 'missing'!r}).",
            hint="It must be an https:// URL such as https://127.0.0.1:6443.",
        )


class AnswerTooSlow(TimeoutError):
    """An API server's answer started but did not finish within ANSWER_DEADLINE_S."""


class AnswerTooLarge(ValueError):
    """An API server's answer was larger than MAX_ANSWER_BYTES."""


def _bound_every_request(api_client: Any) -> None:
    """Every request the client library makes gets a timeout (discovery has none of its own: DISCOVERY_TIMEOUT),
    and its answer is read within ANSWER_DEADLINE_S and MAX_ANSWER_BYTES."""
    from labtools.bounded import read_body

    rest = api_client.rest_client
    unbounded = rest.request

    def request(method: str, url: str, *args: Any, _request_timeout: Any = None, **kwargs: Any) -> Any:
        started = time.perf_counter()
        answer = unbounded(method, url, *args, _request_timeout=_request_timeout or DISCOVERY_TIMEOUT, **kwargs)
        raw = getattr(answer, "response", None)
        if raw is None or not hasattr(raw, "read1"):
            return answer
        try:
            data, cut = read_body(raw, started + ANSWER_DEADLINE_S, MAX_ANSWER_BYTES)
        except TimeoutError:
            raise AnswerTooSlow(f"its answer did not finish within {ANSWER_DEADLINE_S} s") from None
        if cut:
            raise AnswerTooLarge(f"its answer is larger than {MAX_ANSWER_BYTES >> 20} MiB")
        answer.data = data  # what RESTResponse.read() returns
        raw._body = data  # what urllib3's response.data returns (the dynamic client reads that): urllib3 2's cache
        return answer

    rest.request = request


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        items = value.get("items")
        return f"`items` is {type(items).__name__}" if "items" in value else "no `items`"
    return f"a {type(value).__name__}"


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
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
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
