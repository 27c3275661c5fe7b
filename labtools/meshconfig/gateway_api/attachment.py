"""Which Gateway listeners or Services an HTTPRoute attaches to, and whether its backends resolve.

The rules are the Gateway API's own, as its CRDs document them (gateway-api v1.6.1, standard channel):
- a parentRef names a Gateway (group gateway.networking.k8s.io, kind Gateway: the defaults) or a Service (group "",
  kind Service: the mesh, "GAMMA"); its namespace defaults to the route's;
- `sectionName` picks a listener by name (for a Service, a port by name), `port` a listener (or Service port) by number;
- a listener admits an HTTPRoute when its protocol is HTTP or HTTPS, `allowedRoutes.kinds` (if set) lists HTTPRoute,
  and `allowedRoutes.namespaces.from` allows the route's namespace (default `Same`);
- hostnames: a listener without hostname takes every route hostname; a route without hostnames takes the listener's;
  otherwise only the intersecting names count, and with none the listener does not take the route (HTTPRoute
  spec.hostnames: "If both the Listener and HTTPRoute have specified hostnames, and none match ... the HTTPRoute is not
  accepted"); a route is attached when at least one listener takes it;
- a backendRef to a Service in another namespace needs a ReferenceGrant in that namespace (Support: Core).
For mesh parents Istio ignores the route's hostnames and uses the Service's name (istio/istio release-1.31,
pilot/pkg/config/kube/gateway/route_collections.go, "for mesh routes, build one VS per namespace/port->host").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from labtools.meshconfig.hosts import host_matches
from labtools.meshconfig.resources import GATEWAY_API_GROUP as GROUP
from labtools.meshconfig.resources import Resource

if TYPE_CHECKING:
    from labtools.meshconfig.model import MeshConfig

GATEWAY = f"Gateway.{GROUP}"
HTTPROUTE = f"HTTPRoute.{GROUP}"
REFERENCEGRANT = f"ReferenceGrant.{GROUP}"
ROUTE_PROTOCOLS = ("HTTP", "HTTPS")  # the listener protocols an HTTPRoute may attach to
# Kubernetes labels every Namespace with its own name, so allowedRoutes selectors can name one.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Finding:
    """Something that keeps a route from working: the object and field to fix, and why."""

    resource: Resource
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.resource}: {self.path}: {self.message}"


@dataclass(frozen=True)
class ListenerAttachment:
    """A listener that takes the route, with the hostnames the route serves there ("*" for any host)."""

    gateway: Resource
    index: int
    listener: dict[str, Any]
    hostnames: tuple[str, ...]

    @property
    def name(self) -> str:
        return str(self.listener.get("name", ""))


@dataclass(frozen=True)
class ParentAttachment:
    """One parentRef of a route: what it names, what took the route, and why not when nothing did."""

    route: Resource
    index: int
    group: str
    kind: str
    namespace: str
    name: str
    section: str | None
    port: int | None
    parent: Resource | None
    listeners: tuple[ListenerAttachment, ...] = ()
    finding: Finding | None = None

    @property
    def accepted(self) -> bool:
        return self.finding is None

    @property
    def mesh(self) -> bool:
        return self.kind == "Service"

    @property
    def path(self) -> str:
        return f"spec.parentRefs[{self.index}]"


def is_gateway_api(resource: Resource) -> bool:
    return resource.group == GROUP


def uses_gateway_api(config: "MeshConfig") -> bool:
    """Whether the learner answered with the Gateway API: they submitted a Gateway or an HTTPRoute of that group."""
    return any(r.qualified_kind in (GATEWAY, HTTPROUTE) for r in config.submitted)


def gateway_of(config: "MeshConfig", name: str, namespace: str | None = None) -> Resource | None:
    return config.get(GATEWAY, name, namespace)


def attachments(config: "MeshConfig", route: Resource) -> list[ParentAttachment]:
    """Every parentRef of an HTTPRoute, judged."""
    found = []
    for index, ref in enumerate(_list(route.spec.get("parentRefs"))):
        if not isinstance(ref, dict):
            continue
        group = str(ref.get("group", GROUP))
        kind = str(ref.get("kind", "Gateway"))
        base = ParentAttachment(
            route, index, group, kind, str(ref.get("namespace") or route.namespace), str(ref.get("name", "")),
            str(ref["sectionName"]) if ref.get("sectionName") is not None else None,
            ref.get("port") if isinstance(ref.get("port"), int) else None, None,
        )
        if group == GROUP and kind == "Gateway":
            found.append(_attach_to_gateway(config, route, base))
        elif group in ("", "core") and kind == "Service":
            found.append(_attach_to_service(config, base))
        else:
            found.append(_with(base, finding=Finding(route, f"{base.path}.kind", f"Istio attaches HTTPRoutes to a "
                                                     f"Gateway or a Service, not to {group or 'core'}/{kind}.")))
    return found


def hostnames_intersect(listener_hostname: str | None, route_hostnames: list[str]) -> tuple[str, ...]:
    """The hostnames a route serves on a listener (see the module's docstring); empty when they do not meet."""
    if not listener_hostname:
        return tuple(h.lower() for h in route_hostnames) or ("*",)
    listener = listener_hostname.lower()
    if not route_hostnames:
        return (listener,)
    served = []
    for hostname in (h.lower() for h in route_hostnames):
        if host_matches(listener, hostname):
            served.append(hostname)  # the route's name is the narrower one
        elif host_matches(hostname, listener) or (hostname.startswith("*.") and listener.endswith(hostname[1:])):
            served.append(listener)
    return tuple(dict.fromkeys(served))


def backend_findings(config: "MeshConfig", route: Resource) -> list[Finding]:
    """backendRefs that do not resolve: a Service that does not exist, a port it lacks, a namespace not granted."""
    findings = []
    for r, rule in enumerate(_list(route.spec.get("rules"))):
        for b, ref in enumerate(_list(rule.get("backendRefs") if isinstance(rule, dict) else None)):
            if not isinstance(ref, dict) or ref.get("group", "") not in ("", "core") or ref.get("kind", "Service") != "Service":
                continue
            path = f"spec.rules[{r}].backendRefs[{b}]"
            namespace = str(ref.get("namespace") or route.namespace)
            name = str(ref.get("name", ""))
            if namespace != route.namespace and not reference_granted(config, route, namespace, name):
                findings.append(Finding(route, f"{path}.namespace", (
                    f"Service {namespace}/{name} is in another namespace, and no ReferenceGrant in {namespace} lets "
                    f"HTTPRoutes from {route.namespace} refer to it (Istio reports ResolvedRefs False, RefNotPermitted).")))
                continue
            service = config.get("Service", name, namespace)
            if service is None:
                findings.append(Finding(route, f"{path}.name", f"there is no Service {namespace}/{name}."))
                continue
            ports = service_ports(service)
            port = ref.get("port")
            if port is None:
                findings.append(Finding(route, f"{path}.port", f"a Service backend needs a port; Service {name} has "
                                                               f"{_list_ports(ports)}."))
            elif port not in ports:
                findings.append(Finding(route, f"{path}.port", f"Service {namespace}/{name} has no port {port}; its "
                                                               f"ports: {_list_ports(ports)}."))
    return findings


def reference_granted(config: "MeshConfig", route: Resource, namespace: str, name: str) -> bool:
    for grant in config.of_kind(REFERENCEGRANT, namespace):
        froms = [f for f in _list(grant.spec.get("from")) if isinstance(f, dict)]
        tos = [t for t in _list(grant.spec.get("to")) if isinstance(t, dict)]
        allowed_from = any(f.get("group") == GROUP and f.get("kind") == "HTTPRoute" and f.get("namespace") == route.namespace
                           for f in froms)
        allowed_to = any(t.get("group", "") in ("", "core") and t.get("kind") == "Service" and t.get("name") in (None, name)
                         for t in tos)
        if allowed_from and allowed_to:
            return True
    return False


def service_ports(service: Resource) -> dict[int, str]:
    """A Service's ports: number -> name."""
    return {p["port"]: str(p.get("name", "")) for p in _list(service.spec.get("ports"))
            if isinstance(p, dict) and isinstance(p.get("port"), int)}


def _attach_to_gateway(config: "MeshConfig", route: Resource, base: ParentAttachment) -> ParentAttachment:
    gateway = config.get(GATEWAY, base.name, base.namespace)
    if gateway is None:
        known = ", ".join(str(g) for g in config.of_kind(GATEWAY)) or "none"
        return _with(base, finding=Finding(route, f"{base.path}.name", (
            f"there is no Gateway API Gateway {base.namespace}/{base.name} (Gateway API Gateways: {known}); "
            "an Istio Gateway (networking.istio.io) of that name does not count.")))
    listeners = [(i, l) for i, l in enumerate(_list(gateway.spec.get("listeners"))) if isinstance(l, dict)]
    base = _with(base, parent=gateway)
    if base.section is not None:
        names = ", ".join(str(l.get("name")) for _, l in listeners) or "none"
        listeners = [(i, l) for i, l in listeners if l.get("name") == base.section]
        if not listeners:
            return _with(base, finding=Finding(route, f"{base.path}.sectionName", (
                f"Gateway {gateway.namespace}/{gateway.name} has no listener named {base.section!r}; its listeners: "
                f"{names}.")))
    if base.port is not None:
        ports = ", ".join(str(l.get("port")) for _, l in listeners) or "none"
        listeners = [(i, l) for i, l in listeners if l.get("port") == base.port]
        if not listeners:
            return _with(base, finding=Finding(route, f"{base.path}.port", (
                f"no listener of Gateway {gateway.namespace}/{gateway.name} that this parentRef may use listens on "
                f"port {base.port} (ports: {ports}).")))
    taken, refusals = [], []
    route_hostnames = [str(h) for h in _list(route.spec.get("hostnames"))]
    for index, listener in listeners:
        refusal = _refusal(config, route, gateway, index, listener)
        if refusal is not None:
            refusals.append(refusal)
            continue
        served = hostnames_intersect(listener.get("hostname"), route_hostnames)
        if not served:
            refusals.append(Finding(route, "spec.hostnames", (
                f"none of the route's hostnames ({', '.join(route_hostnames)}) is allowed by listener "
                f"{listener.get('name')!r} of Gateway {gateway.namespace}/{gateway.name}, which accepts only "
                f"{listener.get('hostname')}.")))
            continue
        taken.append(ListenerAttachment(gateway, index, listener, served))
    if taken:
        return _with(base, listeners=tuple(taken))
    if not refusals:
        return _with(base, finding=Finding(gateway, "spec.listeners", "the Gateway has no listeners."))
    # The hostname refusal names the route's own field; prefer it when it is one of the reasons.
    hostname = next((f for f in refusals if f.path == "spec.hostnames"), None)
    return _with(base, finding=hostname or refusals[0])


def _refusal(config: "MeshConfig", route: Resource, gateway: Resource, index: int, listener: dict) -> Finding | None:
    where = f"spec.listeners[{index}]"
    label = f"listener {listener.get('name')!r} of Gateway {gateway.namespace}/{gateway.name}"
    protocol = str(listener.get("protocol", ""))
    if protocol not in ROUTE_PROTOCOLS:
        return Finding(gateway, f"{where}.protocol", f"{label} speaks {protocol or 'no protocol'}; HTTPRoutes attach "
                                                     "only to HTTP and HTTPS listeners.")
    allowed = listener.get("allowedRoutes") if isinstance(listener.get("allowedRoutes"), dict) else {}
    kinds = [k for k in _list(allowed.get("kinds")) if isinstance(k, dict)]
    if kinds and not any(k.get("kind") == "HTTPRoute" and k.get("group", GROUP) == GROUP for k in kinds):
        return Finding(gateway, f"{where}.allowedRoutes.kinds", f"{label} admits only "
                                                                f"{', '.join(str(k.get('kind')) for k in kinds)}.")
    namespaces = allowed.get("namespaces") if isinstance(allowed.get("namespaces"), dict) else {}
    source = namespaces.get("from", "Same")
    if source == "Same" and route.namespace != gateway.namespace:
        return Finding(gateway, f"{where}.allowedRoutes.namespaces.from", (
            f"{label} admits routes from its own namespace ({gateway.namespace}) only (from: Same, the default); "
            f"the route is in {route.namespace}."))
    if source == "Selector":
        selector = namespaces.get("selector") if isinstance(namespaces.get("selector"), dict) else {}
        labels = _namespace_labels(config, route.namespace)
        wanted = selector.get("matchLabels") if isinstance(selector.get("matchLabels"), dict) else {}
        if any(labels.get(k) != v for k, v in wanted.items()):
            return Finding(gateway, f"{where}.allowedRoutes.namespaces.selector", (
                f"{label} admits routes from namespaces labelled {wanted}; namespace {route.namespace} has {labels}."))
    return None


def _attach_to_service(config: "MeshConfig", base: ParentAttachment) -> ParentAttachment:
    route = base.route
    service = config.get("Service", base.name, base.namespace)
    if service is None:
        return _with(base, finding=Finding(route, f"{base.path}.name", f"there is no Service {base.namespace}/{base.name}."))
    base = _with(base, parent=service)
    ports = service_ports(service)
    if base.port is not None and base.port not in ports:
        return _with(base, finding=Finding(route, f"{base.path}.port", (
            f"Service {service.namespace}/{service.name} has no port {base.port}; its ports: {_list_ports(ports)}.")))
    if base.section is not None and base.section not in ports.values():
        return _with(base, finding=Finding(route, f"{base.path}.sectionName", (
            f"Service {service.namespace}/{service.name} has no port named {base.section!r}; its ports: "
            f"{_list_ports(ports)}.")))
    return base


def _namespace_labels(config: "MeshConfig", namespace: str) -> dict[str, str]:
    found = next((r for r in config.of_kind("Namespace") if r.name == namespace), None)
    labels = dict(found.labels) if found else {}
    labels.setdefault(NAMESPACE_NAME_LABEL, namespace)
    return labels


def _list_ports(ports: dict[int, str]) -> str:
    return ", ".join(f"{number} ({name})" if name else str(number) for number, name in ports.items()) or "no ports"


def _with(base: ParentAttachment, **changes: Any) -> ParentAttachment:
    return replace(base, **changes)


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []
