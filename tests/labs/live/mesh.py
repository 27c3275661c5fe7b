"""A small mesh for the live checks' tests: one real Envoy, Bookinfo/httpbin stand-ins behind it, and a fake cluster
whose pods reach it, with one namespace per scenario.

Each namespace plays one state of a learner's mesh (`NAMESPACES`): in `default` everything is as the labs ask, in
`broken` the proxies do the classic wrong things (a 50/50 split, no retries, a catch-all route...), `slow` and
`untimed` are lab 07 with and without the timeout, `nostats` has its cluster statistics dropped the way Istio's stats
matcher drops them, `quiet08`/`quiet09` are sent nothing before their tests, `ejected` gets its httpbin host ejected.
Envoy runs with Istio's deferred stats creation (standins.running_envoy): traffic counters appear at first use. The Envoy configuration is static and written here, with Istio's names and conventions:
- the ingress listener has one virtual host per namespace (bookinfo.app for default, <namespace>.bookinfo.app
  otherwise, as `Target.for_namespace` says) plus labtools' own check route (settings.SMOKE_HOST);
- each namespace has an "outbound" listener: what the sidecar of a pod in that namespace (curl, fortio,
  productpage) does with its requests. The fake cluster runs curl with --connect-to that listener, as a sidecar's
  traffic capture would, and emulates `fortio load` over it;
- each namespace has an "inbound productpage" listener: productpage's sidecar as a pod *without* sidecar meets it.
  STRICT means a TLS-only filter chain (tls_inspector finds no chain for plain text and Envoy closes the
  connection, as Istio's inbound listener does); PERMISSIVE adds a plain-text chain;
- clusters are named outbound|<port>|<subset>|<host FQDN> with Istio's alt_stat_name, so statistics read as in a
  sidecar, and the load balancer, circuit breaker and outlier settings are what istiod would derive.
Nothing here pretends to be istiod: tests choose the namespace whose behaviour they need.

Delays are scaled down (`SCALE`); tests set the checks' module constants to the same scale, never the other way.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labtools import settings
from labtools.grading.catalog import component_file, load_lab, solution_dir
from labtools.kube import ExecResult
from labtools.meshconfig import merge, parse_resources
from labtools.meshconfig import has_sidecar
from tests.probes import standins
from tests.probes.standins import FAULT, FAULT_TYPE, _cluster, _fault, _Server, _weighted, istio_name, jason

# Real seconds -> test seconds. 5 s of fault delay become 0.5 s, a 3 s timeout 0.3 s.
SCALE = 0.1
FAULT_DELAY_S = round(5.0 * SCALE, 3)  # lab 06: the 10% delay
REVIEWS_DELAY_S = round(5.0 * SCALE, 3)  # lab 07: the setup's delay on every call to reviews
GATEWAY_TIMEOUT_S = round(3.0 * SCALE, 3)  # lab 07: the learner's timeout on /productpage
PRODUCTPAGE_TRY_S = round(3.0 * SCALE, 3)  # productpage waits this long for reviews, then tries once more
HTTPBIN_GET_S = 0.05  # httpbin's /get takes a moment, so fortio's three connections overlap at the proxy
SPIFFE_DEFAULT = "spiffe://cluster.local/ns/default/sa/bookinfo-productpage"
INJECT = "sidecar.istio.io/inject"
RBAC = "envoy.filters.http.rbac"
RBAC_TYPE = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC"
RBAC_PER_ROUTE_TYPE = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute"
HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
ROUTER = {"name": "envoy.filters.http.router",
          "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}


@dataclass(frozen=True)
class Behaviour:
    """What the proxies of one namespace do: what istiod would have pushed for some set of Istio objects."""

    split: dict[str, int] = field(default_factory=lambda: {"v1": 80, "v3": 20})  # lab 04
    jason_to_v2: bool = True  # lab 04
    lb: dict[str, str | None] = field(default_factory=lambda: {"v1": None, "v2": "RANDOM", "v3": None})  # lab 05
    jason_abort: bool = True  # lab 06
    delay_millionths: int = 100_000  # lab 06: 10% (Istio writes percentage.value * 10000 over MILLION)
    reviews_delay_s: float | None = None  # lab 07 setup
    gateway_timeout_s: float | None = None  # lab 07
    catch_all: bool = False  # lab 03: a prefix / rule
    get_only: bool = True  # lab 10: AuthorizationPolicy (GET only)
    strict: bool = True  # lab 10: PeerAuthentication STRICT
    retries: dict[str, Any] | None = field(
        default_factory=lambda: {"retry_on": "5xx", "num_retries": 3, "per_try_timeout": "2s"})  # lab 08
    breaker: bool = True  # lab 09


NAMESPACES: dict[str, Behaviour] = {
    "default": Behaviour(),
    "broken": Behaviour(split={"v1": 50, "v3": 50}, jason_to_v2=False, lb={"v1": "LEAST_REQUEST", "v2": None, "v3": None},
                        jason_abort=False, delay_millionths=0, catch_all=True, get_only=False, strict=False,
                        retries=None, breaker=False),
    # Lab 08's namespaces have no lab 09 DestinationRule: with its outlier detection (consecutive5xxErrors: 1, panic
    # threshold 0) the first 503 would eject httpbin and the retries would find no host.
    "twice": Behaviour(retries={"retry_on": "5xx", "num_retries": 2, "per_try_timeout": "2s"}, breaker=False),
    "everyone": Behaviour(delay_millionths=1_000_000),
    "slow": Behaviour(reviews_delay_s=REVIEWS_DELAY_S, gateway_timeout_s=GATEWAY_TIMEOUT_S),
    "untimed": Behaviour(reviews_delay_s=REVIEWS_DELAY_S),
    "nostats": Behaviour(),
    "quiet08": Behaviour(breaker=False),  # lab 08 on a client that has sent nothing before its test
    "quiet09": Behaviour(),  # lab 09 likewise
    "ejected": Behaviour(),  # lab 09 after the notebook's ejection cell: httpbin's only host ejected
}


def host_for(namespace: str) -> str:
    return settings.BOOKINFO_HOST if namespace == "default" else f"{namespace}.{settings.BOOKINFO_HOST}"


def fqdn(service: str, namespace: str) -> str:
    return f"{service}.{namespace}.svc.cluster.local"


def namespace_of_host(host: str) -> str:
    """The namespace a request to productpage belongs to: bookinfo.app or <namespace>.bookinfo.app through the
    gateway, productpage.<namespace>.svc.cluster.local from inside."""
    name = host.split(":")[0]
    if name == settings.SMOKE_HOST:  # labtools' check route leads to productpage in default
        return "default"
    if name.startswith("productpage."):
        return name.split(".")[1]
    return "default" if name == settings.BOOKINFO_HOST else name.split(".")[0]


# --- backends -------------------------------------------------------------------------------------------------------

def ratings_server() -> _Server:
    def answer(handler) -> None:
        if handler.path.startswith("/ratings/"):
            handler.send(200, json.dumps({"id": 0, "ratings": {"Reviewer1": 5, "Reviewer2": 4}}))
        else:
            handler.send(404, "not found", "text/plain")

    return _Server(answer)


def productpage_server(outbound_ports: dict[str, int]) -> _Server:
    """Bookinfo's productpage: GET /productpage calls reviews through its namespace's sidecar (the outbound
    listener) waiting PRODUCTPAGE_TRY_S and trying twice, as getProductReviews does, then renders the page (200,
    also without reviews). Flask answers 405 to POST /productpage and 404 to unknown paths. POST /login sets the
    session cookie."""

    def reviews(namespace: str) -> bool:
        for _ in range(2):
            connection = http.client.HTTPConnection("127.0.0.1", outbound_ports[namespace], timeout=PRODUCTPAGE_TRY_S)
            try:
                connection.request("GET", "/reviews/0", headers={"Host": "reviews:9080"})
                if connection.getresponse().status == 200:
                    return True
            except OSError:
                pass
            finally:
                connection.close()
        return False

    def answer(handler) -> None:
        path = urllib.parse.urlsplit(handler.path).path
        if handler.command == "POST" and path == "/login":
            user = urllib.parse.parse_qs(getattr(handler, "body", "")).get("username", [""])[0]
            handler.send(302, "", "text/html", {"Location": "/productpage", "Set-Cookie": f"session={user}-signed; Path=/"})
        elif path == "/productpage" and handler.command == "POST":
            handler.send(405, "<title>405 Method Not Allowed</title>", "text/html")
        elif path == "/productpage":
            found = reviews(namespace_of_host(handler.headers.get("Host", "")))
            text = "reviews" if found else "Sorry, product reviews are currently unavailable for this book."
            handler.send(200, f"<html><body>The Comedy of Errors: {text}</body></html>", "text/html")
        elif path.startswith(("/static/", "/api/v1/products")):
            handler.send(200, "{}")
        else:
            handler.send(404, "<title>404 Not Found</title>", "text/html")

    return _Server(answer)


# --- the Envoy configuration ------------------------------------------------------------------------------------------

def _lb(policy: str | None) -> dict[str, Any]:
    return {"lb_policy": policy} if policy else {}  # None: left out, as Envoy dumps its default ROUND_ROBIN


def _hcm(name: str, virtual_hosts: list[dict], filters: list[dict]) -> dict[str, Any]:
    return {"name": "envoy.filters.network.http_connection_manager", "typed_config": {
        "@type": HCM_TYPE, "stat_prefix": name, "route_config": {"name": name, "virtual_hosts": virtual_hosts},
        "http_filters": filters + [ROUTER]}}


def _get_only() -> dict[str, Any]:
    """Istio's ALLOW policy with methods [GET] as Envoy's RBAC per-route config: anything else gets 403."""
    return {RBAC: {"@type": RBAC_PER_ROUTE_TYPE, "rbac": {"rules": {"action": "ALLOW", "policies": {
        "ns[default]-policy[productpage-viewer]-rule[0]": {
            "permissions": [{"header": {"name": ":method", "string_match": {"exact": "GET"}}}],
            "principals": [{"any": True}]}}}}}}


def _domains(service: str, namespace: str, port: int) -> list[str]:
    name = fqdn(service, namespace)
    return [name, f"{name}:{port}", service, f"{service}:{port}"]


def _ingress_vhost(namespace: str, behaviour: Behaviour) -> dict[str, Any]:
    productpage = istio_name(fqdn("productpage", namespace), 9080)
    timeout = f"{behaviour.gateway_timeout_s}s" if behaviour.gateway_timeout_s else "0s"  # Istio: 0s = none
    matches = [{"path": "/productpage"}, {"prefix": "/static"}, {"path": "/login"}, {"path": "/logout"},
               {"prefix": "/api/v1/products"}]
    if behaviour.catch_all:
        matches.append({"prefix": "/"})
    vhost = {"name": f"{host_for(namespace)}:80", "domains": [host_for(namespace)],
             "routes": [{"match": m, "route": {"cluster": productpage, "timeout": timeout}} for m in matches]}
    if behaviour.get_only:
        vhost["typed_per_filter_config"] = _get_only()
    return vhost


def _outbound_vhosts(namespace: str, behaviour: Behaviour) -> list[dict[str, Any]]:
    reviews = {s: istio_name(fqdn("reviews", namespace), 9080, s) for s in ("v1", "v2", "v3")}
    ratings = istio_name(fqdn("ratings", namespace), 9080, "v1")
    httpbin = istio_name(fqdn("httpbin", namespace), 8000)
    split = _weighted({reviews[s]: w for s, w in behaviour.split.items()})
    delay = _fault(behaviour.reviews_delay_s, 1_000_000) if behaviour.reviews_delay_s else {}
    review_routes = [{"match": {"prefix": "/"}, "route": split, "typed_per_filter_config": delay}]
    if behaviour.jason_to_v2:
        review_routes.insert(0, {"match": {"prefix": "/", "headers": jason()}, "route": {"cluster": reviews["v2"]},
                                 "typed_per_filter_config": delay})
    rating_routes = [{"match": {"prefix": "/"}, "route": {"cluster": ratings, "timeout": "0s"},
                      **({"typed_per_filter_config": _fault(FAULT_DELAY_S, behaviour.delay_millionths)}
                         if behaviour.delay_millionths else {})}]
    if behaviour.jason_abort:
        rating_routes.insert(0, {"match": {"prefix": "/", "headers": jason()}, "route": {"cluster": ratings, "timeout": "0s"},
                                 "typed_per_filter_config": _fault(abort=500, abort_percent=100)})
    httpbin_route = {"cluster": httpbin, "timeout": "0s"}
    if behaviour.retries:
        httpbin_route["retry_policy"] = dict(behaviour.retries)
    return [
        {"name": f"{fqdn('reviews', namespace)}:9080", "domains": _domains("reviews", namespace, 9080),
         "routes": review_routes},
        {"name": f"{fqdn('ratings', namespace)}:9080", "domains": _domains("ratings", namespace, 9080),
         "routes": rating_routes},
        {"name": f"{fqdn('httpbin', namespace)}:8000", "domains": _domains("httpbin", namespace, 8000),
         "routes": [{"match": {"prefix": "/"}, "route": httpbin_route}]},
    ]


def _inbound_listener(namespace: str, behaviour: Behaviour, certificate: str, key: str) -> dict[str, Any]:
    productpage = istio_name(fqdn("productpage", namespace), 9080)
    vhost = {"name": "inbound|9080||", "domains": ["*"], "routes": [{"match": {"prefix": "/"}, "route": {"cluster": productpage}}]}
    if behaviour.get_only:
        vhost["typed_per_filter_config"] = _get_only()
    filters = [{"name": RBAC, "typed_config": {"@type": RBAC_TYPE}}]
    tls = {"name": "envoy.transport_sockets.tls", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        "require_client_certificate": True,
        "common_tls_context": {
            "tls_certificates": [{"certificate_chain": {"inline_string": certificate},
                                  "private_key": {"inline_string": key}}],
            "validation_context": {"trusted_ca": {"inline_string": certificate}}}}}
    chains = [{"filter_chain_match": {"transport_protocol": "tls"}, "transport_socket": tls,
               "filters": [_hcm(f"inbound.{namespace}", [vhost], filters)]}]
    if not behaviour.strict:  # PERMISSIVE: plain text is served too
        chains.append({"filter_chain_match": {"transport_protocol": "raw_buffer"},
                       "filters": [_hcm(f"inbound-plain.{namespace}", [vhost], filters)]})
    return {"name": f"inbound-productpage-{namespace}", "address": _any_port(),
            "listener_filters": [{"name": "envoy.filters.listener.tls_inspector", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"}}],
            "filter_chains": chains}


def _clusters(namespace: str, behaviour: Behaviour, ports: dict[str, int]) -> list[dict[str, Any]]:
    clusters = [_cluster(istio_name(fqdn("reviews", namespace), 9080, s), ports[s], **_lb(behaviour.lb[s]))
                for s in ("v1", "v2", "v3")]
    clusters.append(_cluster(istio_name(fqdn("ratings", namespace), 9080, "v1"), ports["ratings"]))
    clusters.append(_cluster(istio_name(fqdn("productpage", namespace), 9080), ports["productpage"]))
    breaker: dict[str, Any] = {}
    if behaviour.breaker:  # DestinationRule httpbin of lab 09, as istiod translates it
        breaker = {
            "circuit_breakers": {"thresholds": [{"max_connections": 1, "max_pending_requests": 1}]},
            "outlier_detection": {"consecutive_5xx": 1, "interval": "1s", "base_ejection_time": "180s",
                                  "max_ejection_percent": 100},
            # With outlier detection Istio sets the panic threshold to minHealthPercent, 0 by default (release-1.31
            # pilot/pkg/networking/core/cluster_traffic_policy.go): an ejected only host gets no traffic at all.
            "common_lb_config": {"healthy_panic_threshold": {"value": 0}},
            "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "common_http_protocol_options": {"max_requests_per_connection": 1},
                "explicit_http_config": {"http_protocol_options": {}}}},
        }
    clusters.append(_cluster(istio_name(fqdn("httpbin", namespace), 8000), ports["httpbin"], **breaker))
    return clusters


def _any_port() -> dict[str, Any]:
    return {"socket_address": {"address": "127.0.0.1", "port_value": 0}}


def bootstrap(ports: dict[str, int], certificate: str, key: str) -> dict[str, Any]:
    ingress_vhosts = [_ingress_vhost(ns, b) for ns, b in NAMESPACES.items()]
    ingress_vhosts.append({"name": f"{settings.SMOKE_HOST}:80", "domains": [settings.SMOKE_HOST], "routes": [
        {"match": {"path": "/productpage"}, "route": {"cluster": istio_name(fqdn("productpage", "default"), 9080)}}]})
    listeners = [{"name": "ingress", "address": _any_port(), "filter_chains": [{"filters": [
        _hcm("ingress", ingress_vhosts, [{"name": RBAC, "typed_config": {"@type": RBAC_TYPE}}])]}]}]
    clusters = []
    for namespace, behaviour in NAMESPACES.items():
        listeners.append({"name": f"outbound-{namespace}", "address": _any_port(), "filter_chains": [{"filters": [
            _hcm(f"outbound.{namespace}", _outbound_vhosts(namespace, behaviour),
                 [{"name": FAULT, "typed_config": {"@type": FAULT_TYPE}}])]}]})
        listeners.append(_inbound_listener(namespace, behaviour, certificate, key))
        clusters += _clusters(namespace, behaviour, ports)
    return {
        "admin": {"address": _any_port()},
        # Istio's proxyStatsMatcher works through this setting of the bootstrap: what it leaves out does not exist.
        "stats_config": {"stats_matcher": {"exclusion_list": {"patterns": [
            {"safe_regex": {"regex": r".*\.nostats\.svc\.cluster\.local.*"}}]}}},
        "static_resources": {
            "listeners": listeners,
            "clusters": clusters,
            "secrets": [{"name": "default", "tls_certificate": {
                "certificate_chain": {"inline_string": certificate}, "private_key": {"inline_string": key}}}],
        },
    }


@dataclass
class Mesh:
    """The running Envoy and its listeners: ingress URL, and per namespace the outbound and inbound ports."""

    envoy: standins.Envoy
    ingress_url: str
    outbound: dict[str, int]
    inbound: dict[str, int]
    servers: dict[str, Any]


@contextlib.contextmanager
def running_mesh(folder: Path):
    outbound: dict[str, int] = {}
    servers = {version: standins.reviews_server(version) for version in ("v1", "v2", "v3")}
    servers.update(ratings=ratings_server(), httpbin=standins.httpbin_server(get_delay_s=HTTPBIN_GET_S),
                   productpage=productpage_server(outbound))
    certificate, key = standins.make_certificate(SPIFFE_DEFAULT)
    config = bootstrap({name: server.port for name, server in servers.items()}, certificate, key)
    with standins.serving(*servers.values()):
        with standins.running_envoy(config, folder, servers) as envoy:
            listeners = json.loads(envoy.admin_get("listeners?format=json"))["listener_statuses"]
            ports = {entry["name"]: entry["local_address"]["socket_address"]["port_value"] for entry in listeners}
            outbound.update({ns: ports[f"outbound-{ns}"] for ns in NAMESPACES})
            inbound = {ns: ports[f"inbound-productpage-{ns}"] for ns in NAMESPACES}
            yield Mesh(envoy, f"http://127.0.0.1:{ports['ingress']}", outbound, inbound, servers)


# --- the cluster ------------------------------------------------------------------------------------------------------

def lab_objects(lab_id: str, namespace: str, solution: bool = True, skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """What the cluster holds for a lab in `namespace`: the components it uses, its setup and (by default) its
    reference solution, as `kubectl apply` would have left them (metadata.namespace filled in). For a namespace
    other than default, names that mean default (bookinfo.app, *.default.svc.cluster.local) are rewritten."""
    lab = load_lab(lab_id)
    files = [component_file(name) for name in lab.uses]
    if lab.setup_dir and lab.setup_dir.is_dir():
        files += sorted(lab.setup_dir.glob("*.yaml"))
    if solution:
        files += sorted(p for p in solution_dir(lab).glob("*.yaml") if p.name not in skip)
    resources = []
    for path in files:
        text = path.read_text()
        if namespace != "default":
            text = (text.replace(f"{settings.BOOKINFO_HOST}", host_for(namespace))
                    .replace(".default.svc.cluster.local", f".{namespace}.svc.cluster.local")
                    .replace("ns/default/", f"ns/{namespace}/"))
        resources += parse_resources(text, str(path), namespace)
    objects = []
    for resource in merge(resources):
        data = json.loads(json.dumps(resource.data))
        if resource.kind != "Namespace":
            data["metadata"]["namespace"] = resource.namespace
        objects.append(data)
    return objects


def pod(name: str, namespace: str, labels: dict[str, str], app_container: str = "curl", sidecar: bool = True,
        native: bool = False) -> dict[str, Any]:
    """A running pod made by a Deployment (owned by its ReplicaSet), with the sidecar as a container or, with
    Kubernetes native sidecars, as an init container with restartPolicy Always."""
    made = standins.pod(name, namespace, labels, app_container, sidecar=sidecar and not native)
    made["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "controller": True,
                                            "name": name.rsplit("-", 1)[0]}]
    if native:
        made["spec"]["initContainers"] = [{"name": "istio-proxy", "image": "docker.io/istio/proxyv2",
                                           "restartPolicy": "Always"}]
        made["metadata"]["annotations"] = {"kubectl.kubernetes.io/default-container": app_container}
    return made


def namespace_pods(namespace: str) -> list[dict[str, Any]]:
    """The pods of one namespace: Bookinfo's (productpage's proxy is the one lab 05 and 10 read) and the clients live
    checks exec into (curl, fortio). Like a real cluster's, they sit next to the Deployments that own them."""
    suffix = namespace[:5]
    bookinfo = [(f"{app}-{version}", {"app": app, "version": version}) for app, version in (
        ("details", "v1"), ("productpage", "v1"), ("ratings", "v1"), ("reviews", "v1"), ("reviews", "v2"), ("reviews", "v3"))]
    pods = [pod(f"{name}-7b9c5d6f8-{suffix}", namespace, labels, app_container=labels["app"]) for name, labels in bookinfo]
    return pods + [
        pod(f"curl-5d8b9c7f4-{suffix}", namespace, {"app": "curl"}),
        pod(f"fortio-deploy-6c7d8e-{suffix}", namespace, {"app": "fortio"}, app_container="fortio"),
    ]


def setup_pods(lab_id: str, namespace: str) -> list[dict[str, Any]]:
    """The pods of the Deployments a lab's setup runs itself (lab 10's legacy-client), one each, as the injector
    leaves them: with a sidecar unless the pod template opts out (sidecar.istio.io/inject: "false")."""
    lab = load_lab(lab_id)
    paths = sorted(lab.setup_dir.glob("*.yaml")) if lab.setup_dir and lab.setup_dir.is_dir() else []
    pods = []
    for resource in (r for path in paths for r in parse_resources(path.read_text(), str(path), namespace)):
        if resource.kind != "Deployment":
            continue
        template = resource.spec["template"]
        meta = template["metadata"]
        opted_out = "false" in (meta.get("labels", {}).get(INJECT), (meta.get("annotations") or {}).get(INJECT))
        container = template["spec"]["containers"][0]
        made = pod(f"{resource.name}-6f7e8d9c5-{namespace[:5]}", resource.namespace, dict(meta["labels"]),
                   app_container=container["name"], sidecar=not opted_out)
        made["spec"]["containers"][0]["image"] = container["image"]
        pods.append(made)
    return pods


def shared_pods() -> list[dict[str, Any]]:
    """Pods outside the learner's namespace: the ingress gateway."""
    return [
        pod("istio-ingressgateway-5f6d7c8b9-asdfg", "istio-system",
            {"istio": "ingressgateway", "app": "istio-ingressgateway"}, app_container="istio-proxy", sidecar=False),
    ]


class MeshCluster(standins.FakeCluster):
    """labtools.kube.Cluster's methods over in-memory objects; commands in pods reach the test mesh.

    curl in a pod with a sidecar goes through the outbound listener of the pod's namespace; curl in a pod without
    one reaches productpage's inbound listener when it asks for productpage.<namespace>.svc.cluster.local of a
    namespace the mesh has, and otherwise resolves the name on this machine (which fails, as for a service that
    does not exist); `fortio load` is emulated over the outbound listener with one keep-alive connection per -c,
    printing the fields of fortio's JSON result that labtools reads."""

    def __init__(self, mesh: Mesh, objects: list[dict[str, Any]] = (), version: str = "v1.34.0"):
        super().__init__(mesh.envoy, objects)
        self.mesh = mesh
        self.version = version

    def server_version(self) -> dict[str, Any]:
        self._check("read the server version")
        return {"gitVersion": self.version, "major": "1", "minor": self.version.split(".")[1]}

    def run(self, pod, image, command, timeout):
        if command[0] == "fortio" and "fortio" in image:
            return fortio_load(command, self.mesh.outbound[pod["metadata"]["namespace"]])
        return super().run(pod, image, command, timeout)

    def curl_port(self, pod, command):
        if has_sidecar(pod):
            return self.mesh.outbound[pod["metadata"]["namespace"]]
        for argument in command:
            host = urllib.parse.urlsplit(argument).hostname or ""
            if argument.startswith("http") and host.startswith("productpage."):
                return self.mesh.inbound.get(host.split(".")[1])
        return None


def fortio_load(argv: list[str], port: int) -> ExecResult:
    """`fortio load -c C -qps 0 -n N ... -json - URL` over C keep-alive connections to `port`: N/C requests each,
    all connections starting together; prints the fields of fortio's JSON result that labtools reads."""
    connections, total = int(argv[argv.index("-c") + 1]), int(argv[argv.index("-n") + 1])
    headers = {argv[i + 1].split(":", 1)[0]: argv[i + 1].split(":", 1)[1].strip() for i, a in enumerate(argv) if a == "-H"}
    url = urllib.parse.urlsplit(argv[-1])
    headers.setdefault("Host", url.netloc)
    codes: list[int] = []
    durations: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(connections)

    def run(count: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        start.wait()
        for _ in range(count):
            began = time.perf_counter()
            try:
                connection.request("GET", url.path or "/", headers=headers)
                response = connection.getresponse()
                response.read()
                code = response.status
            except OSError:
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                code = -1
            with lock:
                codes.append(code)
                durations.append(time.perf_counter() - began)
        connection.close()

    shares = [total // connections + (1 if i < total % connections else 0) for i in range(connections)]
    began = time.perf_counter()
    threads = [threading.Thread(target=run, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    ordered = sorted(durations)
    result = {
        "RunType": "HTTP", "NumThreads": connections, "ActualQPS": len(codes) / elapsed,
        "RetCodes": {str(code): codes.count(code) for code in sorted(set(codes))},
        "DurationHistogram": {"Count": len(codes), "Avg": sum(durations) / len(durations), "Max": ordered[-1],
                              "Percentiles": [{"Percentile": 50, "Value": ordered[len(ordered) // 2]},
                                              {"Percentile": 90, "Value": ordered[int(len(ordered) * 0.9)]}]},
    }
    return ExecResult("Fortio running...\n" + json.dumps(result, indent=2) + "\n", "", 0)
