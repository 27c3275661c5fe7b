"""Which VirtualService rule a request meets, and what happens to it there.

Evaluation follows Istio's semantics: VirtualServices apply to a request by host and by where it enters (a named
gateway, or `mesh` for sidecars, the default when `gateways` is empty); the most specific host wins and
VirtualServices for the same host are merged in order; within them the first rule whose `match` accepts the request
wins (a rule without `match` accepts everything); all conditions of one match entry must hold, any entry may.
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

MESH = "mesh"


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

    def shares_by_subset(self) -> dict[str | None, float]:
        shares: dict[str | None, float] = {}
        for d in self.destinations:
            shares[d.subset] = shares.get(d.subset, 0.0) + d.share
        return shares


def applicable_virtual_services(virtual_services: list[Resource], request: Request) -> list[Resource]:
    """VirtualServices that apply to the request, best host match first, merged in the order given."""
    context = request.gateway or MESH
    request_host = _request_host(request)
    candidates: list[tuple[int, int, Resource]] = []
    for order, vs in enumerate(virtual_services):
        gateways = [gateway_key(g, vs.namespace) for g in _strings(vs.spec.get("gateways"))] or [MESH]
        if context not in gateways:
            continue
        best = max(
            (specificity(h) for h in (fqdn(h, vs.namespace) for h in _strings(vs.spec.get("hosts")))
             if host_matches(h, request_host)),
            default=None,
        )
        if best is not None:
            candidates.append((best, order, vs))
    if not candidates:
        return []
    top = max(best for best, _, _ in candidates)
    return [vs for best, _, vs in sorted(candidates, key=lambda c: c[1]) if best == top]


def evaluate(virtual_services: list[Resource], request: Request) -> RouteDecision:
    applicable = applicable_virtual_services(virtual_services, request)
    if not applicable:
        where = f"bound to gateway {request.gateway}" if request.gateway else "for the mesh"
        return RouteDecision(request, reason=f"no VirtualService for host {request.host} is {where}")
    for vs in applicable:
        for index, rule in enumerate(_list(vs.spec.get("http"))):
            if isinstance(rule, dict) and rule_matches(rule, request, vs.namespace):
                return RouteDecision(request, vs, index, rule, _destinations(rule, vs.namespace))
    names = ", ".join(f"{vs.namespace}/{vs.name}" for vs in applicable)
    return RouteDecision(request, reason=f"no rule of VirtualService {names} matches {request.path}")


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


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    return [str(v) for v in _list(value)]
