"""Which VirtualService rule a request meets, and what happens to it there.

Evaluation follows what istiod builds for the proxy that handles the request (istio/istio release-1.31):
- A VirtualService applies by host and by where the request enters: a named gateway, or `mesh` for sidecars (the
  default when `gateways` is empty); the proxy must see it (exportTo, meshconfig.visibility), and a gateway must
  admit the VirtualService's namespace for that host (`ns/host` in the Gateway's server hosts).
- The most specific host wins. At a sidecar, several VirtualServices for one host are not merged: the first one
  builds the virtual host and the others are dropped as duplicates (pilot/pkg/networking/core/httproute.go,
  buildSidecarOutboundHTTPRouteConfig; istioctl analyze reports IST0109). At a gateway their routes are joined in
  order, and catch-all routes move to the end (pilot/pkg/networking/core/gateway.go, buildGatewayHTTPRouteConfig;
  route/route.go, SortVHostRoutes). The order is private, exported-to-namespace, then public objects, each by
  creation time (pilot/pkg/model/virtualservice.go, SelectVirtualServices; push_context.go,
  VirtualServicesForGateway); files are read in the order they are applied.
- Within them the first rule whose `match` accepts the request wins (a rule without `match` accepts everything);
  all conditions of one match entry must hold, any entry may.
Weights are relative: a destination gets weight / sum of weights, and a lone destination gets all the traffic
(istio/istio#39544 dropped the old "weights must sum to 100" rule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from labtools.meshconfig.durations import parse_duration
from labtools.meshconfig.hosts import fqdn, gateway_key, host_matches, specificity
from labtools.meshconfig.resources import Resource
from labtools.meshconfig.visibility import PUBLIC, export_to, invisibility

MESH = "mesh"
# Where Istio's ingress gateway runs, and so the namespace whose view of the configuration it gets.
GATEWAY_NAMESPACE = "istio-system"


@dataclass(frozen=True)
class Request:
    """An HTTP request as a proxy sees it. `gateway` is "namespace/name" of the gateway it enters through, or
    None for a request between workloads (the sidecar, `mesh`)."""

    host: str
    path: str = "/"
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    gateway: str | None = None
    port: int | None = None
    source_namespace: str = "default"
    source_labels: Mapping[str, str] = field(default_factory=dict)
    scheme: str = "http"
    # Namespace of the proxy that handles the request: the gateway pods' for a gateway, else the caller's.
    proxy_namespace: str | None = None

    @property
    def proxy(self) -> str:
        """The proxy that applies the routing, in words."""
        if self.gateway:
            return f"the gateway proxy in {self.handling_namespace}"
        return f"the calling workload's sidecar in {self.handling_namespace}"

    @property
    def handling_namespace(self) -> str:
        return self.proxy_namespace or (GATEWAY_NAMESPACE if self.gateway else self.source_namespace)
    # True when `gateway` names a Kubernetes Gateway API Gateway (gateway.networking.k8s.io), not an Istio Gateway:
    # the two are different proxies, and one namespace may hold one of each with the same name.
    gateway_api: bool = False

    def describe(self) -> str:
        headers = "".join(f" with {k}: {v}" for k, v in self.headers.items())
        where = f" through gateway {self.gateway}" if self.gateway else " inside the mesh"
        return f"{self.method} {self.host}{self.path}{headers}{where}"


@dataclass(frozen=True)
class Destination:
    host: str  # fully qualified for cluster services
    subset: str | None
    port: int | None
    share: float  # fraction of the requests this rule sends here, 0..1

    def label(self) -> str:
        port = f":{self.port}" if self.port else ""
        subset = f" subset {self.subset}" if self.subset else ""
        return f"{self.host}{port}{subset}"


@dataclass(frozen=True)
class RouteDecision:
    """What a request meets. `virtual_service` and `rule_index` are None when no rule matched."""

    request: Request
    virtual_service: Resource | None = None
    rule_index: int | None = None
    rule: Mapping[str, Any] = field(default_factory=dict)
    destinations: tuple[Destination, ...] = ()
    reason: str = ""
    # VirtualServices for the request's host that the handling proxy does not use, each with why.
    ignored: tuple[tuple[Resource, str], ...] = ()
    # The VirtualServices (or HTTPRoutes) the proxy tried, in order (empty when none applies to the request at all).
    considered: tuple[Resource, ...] = ()

    @property
    def matched(self) -> bool:
        return self.virtual_service is not None

    @property
    def rule_label(self) -> str:
        if not self.matched:
            return "no rule"
        name = f" ({self.rule['name']})" if self.rule.get("name") else ""
        source = self.virtual_service
        if source.kind == "HTTPRoute":  # a Gateway API route: name the rule by its path, as learners see it
            return f"rule {self.rule_index + 1} (spec.rules[{self.rule_index}]){name} of HTTPRoute {source.namespace}/{source.name}"
        return f"rule {self.rule_index + 1}{name} of VirtualService {source.namespace}/{source.name}"

    @property
    def timeout(self) -> float | None:
        """Seconds, or None when the rule sets no timeout (Istio then sets none: requests may wait indefinitely)."""
        return _seconds(self.rule.get("timeout"))

    @property
    def retries(self) -> Mapping[str, Any] | None:
        retries = self.rule.get("retries")
        return retries if isinstance(retries, dict) else None

    @property
    def fault(self) -> Mapping[str, Any] | None:
        fault = self.rule.get("fault")
        return fault if isinstance(fault, dict) else None

    def fault_percentages(self) -> tuple[float, float]:
        """(delay %, abort %) actually applied. Without `percentage` Istio passes none to Envoy, which then
        injects the fault into 0% of requests (istio/istio#36303); the deprecated delay `percent` still counts."""
        fault = self.fault or {}
        return _fault_percent(fault.get("delay"), "percent"), _fault_percent(fault.get("abort"), None)

    def ignored_note(self) -> str:
        """Sentences naming the VirtualServices for this host that the handling proxy leaves out, and why ("" if none)."""
        return "".join(f" Note: {why}." for _, why in self.ignored)

    def shares_by_subset(self) -> dict[str | None, float]:
        shares: dict[str | None, float] = {}
        for d in self.destinations:
            shares[d.subset] = shares.get(d.subset, 0.0) + d.share
        return shares


@dataclass(frozen=True)
class Selection:
    """The VirtualServices a proxy uses for a request (in order), and those for its host it leaves out, with why."""

    used: tuple[Resource, ...]
    ignored: tuple[tuple[Resource, str], ...]


def select_virtual_services(virtual_services: list[Resource], request: Request) -> Selection:
    context = request.gateway or MESH
    namespace = request.handling_namespace
    request_host = _request_host(request)
    candidates: list[tuple[int, int, Resource]] = []
    ignored: list[tuple[Resource, str]] = []
    for order, vs in enumerate(_proxy_order(virtual_services, namespace)):
        best = max(
            (specificity(h) for h in (fqdn(h, vs.namespace) for h in _strings(vs.spec.get("hosts")))
             if host_matches(h, request_host)),
            default=None,
        )
        if best is None:
            continue
        gateways = [gateway_key(g, vs.namespace) for g in _strings(vs.spec.get("gateways"))] or [MESH]
        if context not in gateways:
            ignored.append((vs, _not_bound(vs, gateways, context)))
            continue
        hidden = invisibility(vs, namespace, request.proxy)
        if hidden:
            ignored.append((vs, hidden))
            continue
        candidates.append((best, order, vs))
    if not candidates:
        return Selection((), tuple(ignored))
    top = max(best for best, _, _ in candidates)
    used = [vs for best, _, vs in sorted(candidates, key=lambda c: c[1]) if best == top]
    if context == MESH and len(used) > 1:
        first = used[0]
        ignored += [(vs, f"{vs} is ignored: {first} is the first VirtualService for this host at the sidecar, and "
                         "a sidecar does not merge VirtualServices (istioctl analyze: IST0109 "
                         "ConflictingMeshGatewayVirtualServiceHosts)") for vs in used[1:]]
        used = used[:1]
    return Selection(tuple(used), tuple(ignored))


def applicable_virtual_services(virtual_services: list[Resource], request: Request) -> list[Resource]:
    """VirtualServices the handling proxy applies to the request, in the order it applies them."""
    return list(select_virtual_services(virtual_services, request).used)


def _proxy_order(virtual_services: list[Resource], namespace: str) -> list[Resource]:
    """Private objects of the proxy's namespace first, then those exported to it by name, then public ones."""
    def group(vs: Resource) -> int:
        exported = export_to(vs)
        if PUBLIC in exported:
            return 2
        return 0 if vs.namespace == namespace and namespace in exported else 1
    return sorted(virtual_services, key=group)  # stable: creation (file) order within a group


def _not_bound(vs: Resource, gateways: list[str], context: str) -> str:
    if context == MESH:
        return (f"{vs} is bound only to {', '.join(gateways)}: its gateways lack `mesh`, so sidecars do not use it "
                "(add mesh to gateways, or leave gateways out for in-mesh traffic)")
    return f"{vs} is bound to {', '.join(gateways)}, not to gateway {context}"


def evaluate(virtual_services: list[Resource], request: Request) -> RouteDecision:
    selection = select_virtual_services(virtual_services, request)
    applicable = list(selection.used)
    if not applicable:
        where = f"bound to gateway {request.gateway}" if request.gateway else "for the mesh"
        reason = f"no VirtualService for host {request.host} is {where}"
        if selection.ignored:
            reason += " and visible to " + request.proxy + ": " + "; ".join(why for _, why in selection.ignored)
        return RouteDecision(request, reason=reason, ignored=selection.ignored)
    for vs, index, rule in _rules_in_order(applicable, gateway=request.gateway is not None):
        if rule_matches(rule, request, vs.namespace):
            return RouteDecision(request, vs, index, rule, _destinations(rule, vs.namespace),
                                 ignored=selection.ignored, considered=selection.used)
    names = ", ".join(f"{vs.namespace}/{vs.name}" for vs in applicable)
    return RouteDecision(request, reason=f"no rule of VirtualService {names} matches {request.path}",
                         ignored=selection.ignored, considered=selection.used)


def _rules_in_order(applicable: list[Resource], gateway: bool):
    """(VirtualService, index, rule) in the order the proxy tries them; a gateway tries catch-all rules last."""
    rules = [(vs, i, r) for vs in applicable for i, r in enumerate(_list(vs.spec.get("http"))) if isinstance(r, dict)]
    if not gateway:
        return rules
    return [r for r in rules if not _catch_all(r[2])] + [r for r in rules if _catch_all(r[2])]


def _catch_all(rule: Mapping[str, Any]) -> bool:
    """Route.IsCatchAllRoute: no header or query match and a path of prefix `/` (or regex `.*`); no match at all."""
    matches = [m for m in _list(rule.get("match")) if isinstance(m, dict)]
    if not matches:
        return True
    for match in matches:
        uri = _dict(match.get("uri"))
        only_uri = set(match) <= {"uri", "name", "ignoreUriCase"}
        if only_uri and (uri.get("prefix") == "/" or uri.get("regex") == ".*"):
            return True
    return False


def rule_matches(rule: Mapping[str, Any], request: Request, namespace: str) -> bool:
    matches = _list(rule.get("match"))
    if not matches:
        return True
    return any(isinstance(m, dict) and _match_entry(m, request, namespace) for m in matches)


def unreachable_rules(vs: Resource) -> list[tuple[int, int]]:
    """(rule, earlier catch-all rule) pairs, 0-based: rules after a rule without `match` can never be reached."""
    found = []
    rules = [r for r in _list(vs.spec.get("http")) if isinstance(r, dict)]
    catch_all = next((i for i, r in enumerate(rules) if not _list(r.get("match"))), None)
    if catch_all is not None:
        found = [(i, catch_all) for i in range(catch_all + 1, len(rules))]
    return found


def _match_entry(match: Mapping[str, Any], request: Request, namespace: str) -> bool:
    ignore_case = bool(match.get("ignoreUriCase"))
    path = request.path.split("?", 1)[0]
    if "uri" in match and not string_matches(match["uri"], path, ignore_case):
        return False
    for field_name, value in (("scheme", request.scheme), ("method", request.method), ("authority", request.host)):
        if field_name in match and not string_matches(match[field_name], value):
            return False
    headers = {k.lower(): v for k, v in request.headers.items()}
    for name, condition in (match.get("headers") or {}).items():
        value = headers.get(str(name).lower())
        if value is None or not string_matches(condition, value, empty_matches=True):
            return False
    for name, condition in (match.get("withoutHeaders") or {}).items():
        value = headers.get(str(name).lower())
        if value is not None and string_matches(condition, value, empty_matches=True):
            return False
    if match.get("queryParams"):
        query = dict(p.partition("=")[::2] for p in request.path.partition("?")[2].split("&") if p)
        for name, condition in match["queryParams"].items():
            if name not in query or not string_matches(condition, query[name], empty_matches=True):
                return False
    if match.get("port") and request.port is not None and int(match["port"]) != request.port:
        return False
    if match.get("sourceLabels"):
        if any(request.source_labels.get(k) != v for k, v in match["sourceLabels"].items()):
            return False
    if match.get("sourceNamespace") and match["sourceNamespace"] != request.source_namespace:
        return False
    if match.get("gateways"):
        context = request.gateway or MESH
        if context not in [gateway_key(g, namespace) for g in _strings(match["gateways"])]:
            return False
    return True


def string_matches(condition: Any, value: str, ignore_case: bool = False, empty_matches: bool = False) -> bool:
    """Istio's StringMatch: exact, prefix or regex (RE2, matched against the whole value as Envoy does)."""
    if not isinstance(condition, dict) or not condition:
        return empty_matches  # `headers: {x-user: {}}` checks only that the header is present
    if ignore_case:
        value = value.lower()
    if "exact" in condition:
        expected = str(condition["exact"])
        return value == (expected.lower() if ignore_case else expected)
    if "prefix" in condition:
        expected = str(condition["prefix"])
        return value.startswith(expected.lower() if ignore_case else expected)
    if "regex" in condition:
        try:
            return re.fullmatch(str(condition["regex"]), value) is not None
        except re.error:
            return False
    return empty_matches


def _destinations(rule: Mapping[str, Any], namespace: str) -> tuple[Destination, ...]:
    routes = [r for r in _list(rule.get("route")) if isinstance(r, dict) and isinstance(r.get("destination"), dict)]
    weights = [_weight(r.get("weight")) for r in routes]
    total = sum(weights)
    result = []
    for route, weight in zip(routes, weights):
        destination = route["destination"]
        port = destination.get("port", {}).get("number") if isinstance(destination.get("port"), dict) else None
        share = 1.0 if len(routes) == 1 else (weight / total if total else 0.0)
        result.append(
            Destination(
                host=fqdn(str(destination.get("host", "")), namespace),
                subset=destination.get("subset"),
                port=port if isinstance(port, int) else None,
                share=share,
            )
        )
    return tuple(result)


def _fault_percent(spec: Any, legacy_field: str | None) -> float:
    if not isinstance(spec, dict):
        return 0.0
    percentage = spec.get("percentage")
    if isinstance(percentage, dict) and isinstance(percentage.get("value"), (int, float)):
        return float(percentage["value"])
    legacy = spec.get(legacy_field) if legacy_field else None
    return float(legacy) if isinstance(legacy, (int, float)) and not isinstance(legacy, bool) else 0.0


def _request_host(request: Request) -> str:
    host = request.host.rsplit(":", 1)[0] if ":" in request.host and "]" not in request.host else request.host
    # Inside the mesh a short name resolves through the client's DNS search path; at a gateway it is literal.
    return host.lower() if request.gateway else fqdn(host, request.source_namespace)


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError:
        return None


def _weight(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else 0.0


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    return [str(v) for v in _list(value)]
