"""Which HTTPRoute rule a request meets, and where it goes: the same answer routing.evaluate gives for VirtualServices.

Semantics (HTTPRoute CRD documentation, gateway-api v1.6.1, and Istio's translation of it, istio/istio release-1.31
pilot/pkg/config/kube/gateway/conversion.go):
- a rule without matches matches every request (the CRD's default: PathPrefix /); one match entry's conditions must
  all hold, any entry may;
- PathPrefix compares whole path segments, a trailing "/" ignored: /api matches /api and /api/x, not /apix (Istio
  emits Envoy's path_separated_prefix, pilot/pkg/networking/core/route/route.go); header names ignore case;
- precedence across all rules of all applicable routes, not list order: Exact path, then the longest PathPrefix
  (Istio ranks Exact > Prefix > RegularExpression, then by length: sortHTTPRoutes), then a method match, then more
  header matches, then more query matches; ties go to the oldest route, then by namespace/name, then list order;
- weights are relative (default 1); when every backend weighs 0 Istio answers 500 itself;
- timeouts.request is the route's timeout; backendRequest becomes the per-try timeout when retries exist, else the
  timeout (conversion.go). The v1.6 standard channel has no HTTPRoute retries (only the experimental channel does).

Istio's precedence between the two APIs:
- through an ingress gateway the question does not arise: a Gateway API Gateway gets a proxy of its own
  (Deployment and Service <name>-<class>), and only HTTPRoutes attached to it configure it;
- in the mesh, Istio turns an HTTPRoute attached to a Service into a VirtualService "with gateway semantics" for
  that host; a sidecar takes, for each host, the first VirtualService in this order: those with gateway semantics in
  the client's own namespace first, then all others by creation time (pilot/pkg/model/virtualservice.go,
  SelectVirtualServices with PILOT_UNIFIED_SIDECAR_SCOPE, default true; later duplicates of a virtual host are
  dropped, pilot/pkg/networking/core/httproute.go). So an HTTPRoute in the client's namespace beats a VirtualService
  for the same host; otherwise the older object wins. Offline objects have no creation time, so the order in which
  they are given (the lab's setup first, then the learner's files) stands in for it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from labtools.meshconfig.gateway_api.attachment import GATEWAY, HTTPROUTE, ParentAttachment, attachments
from labtools.meshconfig.hosts import fqdn, host_matches, specificity
from labtools.meshconfig.resources import Resource
from labtools.meshconfig.routing import Destination, Request, RouteDecision, applicable_virtual_services

if TYPE_CHECKING:
    from labtools.meshconfig.model import MeshConfig

DEFAULT_MATCH = {"path": {"type": "PathPrefix", "value": "/"}}
_PATH_RANK = {"Exact": 3, "PathPrefix": 2, "RegularExpression": 1}


def route(config: "MeshConfig", request: Request) -> RouteDecision | None:
    """The decision when the Gateway API decides this request, None when VirtualServices do (see the docstring)."""
    if request.gateway:
        return through_gateway(config, request) if request.gateway_api else None
    return in_mesh(config, request)


def through_gateway(config: "MeshConfig", request: Request) -> RouteDecision:
    namespace, _, name = request.gateway.partition("/")
    gateway = config.get(GATEWAY, name, namespace)
    if gateway is None:
        return RouteDecision(request, reason=f"there is no Gateway API Gateway {request.gateway}")
    host = _host_without_port(request.host).lower()
    listeners = [
        i for i, l in enumerate(gateway.spec.get("listeners") or [])
        if isinstance(l, dict) and l.get("protocol") in ("HTTP", "HTTPS")
        and (request.port is None or l.get("port") == request.port)
        and (not l.get("hostname") or host_matches(str(l["hostname"]), host))
    ]
    if not listeners:
        return RouteDecision(request, reason=f"Gateway {request.gateway} has no HTTP listener for host {host}")
    candidates: list[tuple[int, Resource]] = []
    for resource in config.of_kind(HTTPROUTE):
        best = None
        for parent in attachments(config, resource):
            if not parent.accepted or parent.parent is not gateway:
                continue
            for listener in parent.listeners:
                if listener.index in listeners:
                    for hostname in listener.hostnames:
                        if host_matches(hostname, host):
                            best = max(best or 0, specificity(hostname))
        if best is not None:
            candidates.append((best, resource))
    if not candidates:
        return RouteDecision(request, reason=f"no HTTPRoute attached to Gateway {request.gateway} serves host {host}")
    # Rules of the routes with the most specific matching hostname win (HTTPRoute spec.hostnames).
    top = max(best for best, _ in candidates)
    return _decide(config, [r for best, r in candidates if best == top], request, f"Gateway {request.gateway}")


def in_mesh(config: "MeshConfig", request: Request) -> RouteDecision | None:
    host = fqdn(_host_without_port(request.host), request.source_namespace)
    service = config.service(host)
    if service is None:
        return None
    routes = [r for r in config.of_kind(HTTPROUTE) if _attached_to_service(config, r, service, request.port)]
    if not routes:
        return None
    consumer = [r for r in routes if r.namespace == request.source_namespace]
    if not consumer:
        virtual_services = applicable_virtual_services(config.of_kind("VirtualService"), request)
        if virtual_services and _older(config, virtual_services[0], routes):
            return None
    return _decide(config, consumer or routes, request, f"Service {service.namespace}/{service.name}")


def matches(match: dict[str, Any], request: Request) -> bool:
    """Whether one HTTPRouteMatch entry accepts the request (all its conditions hold)."""
    path = request.path.split("?", 1)[0]
    condition = match.get("path") if isinstance(match.get("path"), dict) else DEFAULT_MATCH["path"]
    kind, value = condition.get("type", "PathPrefix"), str(condition.get("value", "/"))
    if kind == "Exact" and path != value:
        return False
    if kind == "PathPrefix":
        prefix = value.rstrip("/")
        if prefix and path != prefix and not path.startswith(prefix + "/"):
            return False
    if kind == "RegularExpression" and not _full_match(value, path):
        return False
    if match.get("method") and str(match["method"]).upper() != request.method.upper():
        return False
    headers = {k.lower(): v for k, v in request.headers.items()}
    for entry in _list(match.get("headers")):
        if not isinstance(entry, dict):
            continue
        value = headers.get(str(entry.get("name", "")).lower())
        if value is None or not _value_matches(entry, value):
            return False
    query = dict(p.partition("=")[::2] for p in request.path.partition("?")[2].split("&") if p)
    for entry in _list(match.get("queryParams")):
        if not isinstance(entry, dict):
            continue
        value = query.get(str(entry.get("name", "")))
        if value is None or not _value_matches(entry, value):
            return False
    return True


def translated_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """The rule as Istio's VirtualService fields (timeout, redirect, ...), so RouteDecision reads it as it reads one."""
    timeouts = rule.get("timeouts") if isinstance(rule.get("timeouts"), dict) else {}
    result: dict[str, Any] = {"gatewayApi": rule}
    if rule.get("name"):
        result["name"] = rule["name"]
    timeout = timeouts.get("request") or timeouts.get("backendRequest")
    if timeout and timeout not in ("0s", "0"):
        result["timeout"] = timeout
    for entry in _list(rule.get("filters")):
        if isinstance(entry, dict) and entry.get("type") == "RequestRedirect":
            result["redirect"] = entry.get("requestRedirect") or {}
    return result


def destinations(rule: dict[str, Any], namespace: str) -> tuple[Destination, ...]:
    refs = [b for b in _list(rule.get("backendRefs")) if isinstance(b, dict)]
    weights = [_weight(b.get("weight", 1)) for b in refs]
    total = sum(weights)
    return tuple(
        Destination(
            host=fqdn(str(ref.get("name", "")), str(ref.get("namespace") or namespace)),
            subset=None,
            port=ref.get("port") if isinstance(ref.get("port"), int) else None,
            share=weight / total if total else 0.0,
        )
        for ref, weight in zip(refs, weights)
    )


def _decide(config: "MeshConfig", routes: list[Resource], request: Request, where: str) -> RouteDecision:
    ordered = sorted(routes, key=lambda r: (_created(r) or "", r.namespace, r.name))
    entries = []
    for order, resource in enumerate(ordered):
        for r, rule in enumerate(_list(resource.spec.get("rules"))):
            if not isinstance(rule, dict):
                continue
            for m, match in enumerate([x for x in _list(rule.get("matches")) if isinstance(x, dict)] or [DEFAULT_MATCH]):
                entries.append((_precedence(match), order, r, m, resource, rule, match))
    entries.sort(key=lambda e: (tuple(-x for x in e[0]), e[1], e[2], e[3]))
    for _, _, index, _, resource, rule, match in entries:
        if matches(match, request):
            return RouteDecision(request, resource, index, translated_rule(rule), destinations(rule, resource.namespace),
                                 considered=tuple(ordered))
    names = ", ".join(f"{r.namespace}/{r.name}" for r in routes)
    return RouteDecision(request, reason=f"no rule of HTTPRoute {names} (attached to {where}) matches {request.path}",
                         considered=tuple(ordered))


def _precedence(match: dict[str, Any]) -> tuple[int, int, int, int, int]:
    path = match.get("path") if isinstance(match.get("path"), dict) else DEFAULT_MATCH["path"]
    kind, value = path.get("type", "PathPrefix"), str(path.get("value", "/"))
    length = len(value.rstrip("/") or "/") if kind == "PathPrefix" else len(value)
    return (_PATH_RANK.get(kind, 0), length, 1 if match.get("method") else 0,
            len(_list(match.get("headers"))), len(_list(match.get("queryParams"))))


def _attached_to_service(config: "MeshConfig", resource: Resource, service: Resource, port: int | None) -> bool:
    def applies(parent: ParentAttachment) -> bool:
        return (parent.accepted and parent.mesh and parent.parent is service
                and (parent.port is None or port is None or parent.port == port))

    return any(applies(p) for p in attachments(config, resource))


def _older(config: "MeshConfig", virtual_service: Resource, routes: list[Resource]) -> bool:
    """Whether the VirtualService came first: by creation time when both have one, else by position."""
    first_route = min(routes, key=lambda r: (_created(r) or "", config.resources.index(r)))
    vs_time, route_time = _created(virtual_service), _created(first_route)
    if vs_time and route_time:
        return vs_time <= route_time
    return config.resources.index(virtual_service) < config.resources.index(first_route)


def _created(resource: Resource) -> str | None:
    value = resource.metadata.get("creationTimestamp")
    return str(value) if value else None  # RFC 3339 in UTC: text order is time order


def _value_matches(entry: dict[str, Any], value: str) -> bool:
    expected = str(entry.get("value", ""))
    if entry.get("type", "Exact") == "RegularExpression":
        return _full_match(expected, value)
    return value == expected


def _full_match(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return False


def _host_without_port(host: str) -> str:
    return host.rsplit(":", 1)[0] if ":" in host and "]" not in host else host


def _weight(value: Any) -> float:
    return float(value) if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0.0


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []
