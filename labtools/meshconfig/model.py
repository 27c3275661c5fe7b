"""A set of Kubernetes and Istio objects as one mesh configuration, with the questions checks ask of it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable

from labtools.meshconfig.hosts import (
    fqdn, gateway_key, host_matches, server_admits, split_gateway_host, split_service_host,
)
from labtools.meshconfig.destinations import DestinationPolicy, destination_policy, hidden_rules
from labtools.meshconfig.resources import Resource
from labtools.meshconfig.routing import Request, RouteDecision, evaluate
from labtools.meshconfig.schema import Problem

WORKLOAD_KINDS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")
SIDECAR = "istio-proxy"


@dataclass(frozen=True)
class SubsetReference:
    """A route destination naming a subset: where it is written, the service host (FQDN) and the subset."""

    source: Resource
    path: str
    host: str
    subset: str


def merge(*layers: Iterable[Resource]) -> list[Resource]:
    """Objects of later layers replace objects of earlier ones with the same kind, namespace and name."""
    merged: dict[tuple[str, str, str], Resource] = {}
    for layer in layers:
        for resource in layer:
            merged.pop(resource.key, None)
            merged[resource.key] = resource  # re-insert: the replacement takes the later position
    return list(merged.values())


class MeshConfig:
    """Objects in force (setup objects overlaid by the learner's), the learner's own, and validation problems.

    `schema_note` says why the learner's objects could not be validated ("" when they were).
    `live` is True when the objects were read from a cluster rather than from files.
    """

    def __init__(
        self,
        resources: list[Resource],
        submitted: list[Resource] | None = None,
        problems: list[Problem] | None = None,
        namespace: str = "default",
        schema_note: str = "",
        live: bool = False,
        warnings: list[Problem] | None = None,
    ):
        self.resources = resources
        self.submitted = submitted if submitted is not None else resources
        self.problems = problems or []
        self.namespace = namespace
        self.schema_note = schema_note
        self.live = live
        self.warnings = warnings or []  # accepted by the API server, with a warning (e.g. a deprecated field)

    @property
    def validated(self) -> bool:
        return not self.schema_note

    # --- finding objects -------------------------------------------------------------------------------------
    def of_kind(self, kind: str, namespace: str | None = None) -> list[Resource]:
        """Objects of a kind; Gateway API kinds are named with their group (Resource.qualified_kind)."""
        return [r for r in self.resources
                if r.qualified_kind == kind and (namespace is None or r.namespace == namespace)]

    def get(self, kind: str, name: str, namespace: str | None = None) -> Resource | None:
        namespace = namespace or self.namespace
        return next((r for r in self.resources if r.key == (kind, namespace, name)), None)

    def submitted_of_kind(self, kind: str) -> list[Resource]:
        return [r for r in self.submitted if r.qualified_kind == kind]

    # --- services and workloads ------------------------------------------------------------------------------
    def service(self, host: str, namespace: str | None = None) -> Resource | None:
        """The Service a host names (short or FQDN), or None when it is not a cluster service."""
        parts = split_service_host(fqdn(host, namespace or self.namespace))
        return self.get("Service", parts[0], parts[1]) if parts else None

    def workloads(self, namespace: str, labels: dict[str, str]) -> list[Resource]:
        """Workloads in `namespace` whose pods carry all of `labels`: controllers (Deployments...) by their pod
        template, and pods that no controller owns. A cluster read live holds each Deployment and its pods; files
        describe Deployments; either way each workload is counted once."""
        found = []
        for resource in self.resources:
            if resource.kind == "Pod" and resource.metadata.get("ownerReferences"):
                continue
            if resource.kind in WORKLOAD_KINDS and resource.namespace == namespace:
                pod_labels = pod_labels_of(resource)
                if all(pod_labels.get(k) == v for k, v in labels.items()):
                    found.append(resource)
        return found

    def endpoints(self, host: str, subset: str | None = None) -> list[Resource]:
        """Workloads behind a service host, narrowed to a subset's labels when one is named."""
        service = self.service(host)
        if service is None:
            return []
        selector = service.spec.get("selector") or {}
        if not selector:
            return []
        labels = dict(selector)
        if subset is not None:
            definition = self.subset(host, subset)
            if definition is None:
                return []
            labels.update(definition[1].get("labels") or {})
        return self.workloads(service.namespace, labels)

    # --- destination rules and subsets -----------------------------------------------------------------------
    def destination_policy(self, host: str, client_namespace: str | None = None,
                           namespace: str | None = None) -> DestinationPolicy | None:
        """The DestinationRule(s) a proxy in `client_namespace` applies to `host` (resolved in `namespace`), merged
        the way istiod merges competing ones (meshconfig.destinations)."""
        client = client_namespace or self.namespace
        return destination_policy(self.of_kind("DestinationRule"), fqdn(host, namespace or client), client)

    def hidden_destination_rules(self, host: str, client_namespace: str | None = None) -> list[str]:
        """Why the DestinationRules for `host` that a proxy in `client_namespace` cannot see are invisible to it."""
        client = client_namespace or self.namespace
        return hidden_rules(self.of_kind("DestinationRule"), fqdn(host, client), client)

    def subset(self, host: str, name: str, namespace: str | None = None,
               client_namespace: str | None = None) -> tuple[Resource, dict[str, Any]] | None:
        """The subset `name` of `host` as a client's proxy sees it (by default a client in the learner's namespace)."""
        policy = self.destination_policy(host, client_namespace, namespace)
        return policy.subset(name) if policy else None

    def subset_references(self, host: str | None = None) -> list[SubsetReference]:
        """Every subset named by a VirtualService route, optionally only those for `host`."""
        target = fqdn(host, self.namespace) if host else None
        found = []
        for vs in self.of_kind("VirtualService"):
            for kind in ("http", "tcp", "tls"):
                for r, rule in enumerate(vs.spec.get(kind) or []):
                    for d, route in enumerate((rule or {}).get("route") or [] if isinstance(rule, dict) else []):
                        destination = route.get("destination") if isinstance(route, dict) else None
                        if not isinstance(destination, dict) or not destination.get("subset"):
                            continue
                        dest_host = fqdn(str(destination.get("host", "")), vs.namespace)
                        if target is None or dest_host == target:
                            path = f"spec.{kind}[{r}].route[{d}].destination.subset"
                            found.append(SubsetReference(vs, path, dest_host, str(destination["subset"])))
        return found

    def subset_defined(self, reference: SubsetReference) -> bool:
        return self.subset(reference.host, reference.subset, reference.source.namespace) is not None

    # --- routing ---------------------------------------------------------------------------------------------
    def route(self, request: Request) -> RouteDecision:
        """The rule and destinations a request meets, as the proxy that handles it sees the configuration (see
        routing.evaluate): for a gateway request the gateway pods, for a request between workloads the caller's
        sidecar. Where the Kubernetes Gateway API decides (gateway_api.routing.route says when), by its HTTPRoutes."""
        from labtools.meshconfig.gateway_api.routing import route as route_by_gateway_api

        decided = route_by_gateway_api(self, request)
        if decided is not None:
            return decided
        virtual_services = self.of_kind("VirtualService")
        if not request.gateway:
            return evaluate(virtual_services, request)
        namespace, _, name = request.gateway.partition("/")
        gateway = self.get("Gateway", name, namespace)
        if gateway is None:
            return RouteDecision(request, reason=f"there is no Gateway {request.gateway} (istioctl analyze: IST0101 "
                                                 "ReferencedResourceNotFound)")
        pods = self.gateway_pods(gateway)
        if pods and request.proxy_namespace is None:
            request = replace(request, proxy_namespace=pods[0].namespace)
        servers = self.gateway_servers(gateway, request.host, request.scheme)
        if not servers:
            named = [vs for vs in virtual_services if request.gateway in self.gateways_of(vs)
                     and any(host_matches(str(h).lower(), request.host.lower()) for h in vs.spec.get("hosts") or [])]
            code = (f" ({', '.join(str(vs) for vs in named)} names that host: istioctl analyze reports IST0132 "
                    "VirtualServiceHostNotFoundInGateway)") if named else ""
            return RouteDecision(request, reason=f"Gateway {request.gateway} has no {request.scheme.upper()} server "
                                                 f"for host {request.host}{code}")
        if all(_dict(server.get("tls")).get("httpsRedirect") for server in servers):
            return RouteDecision(request, reason=(
                f"Gateway {request.gateway} answers every HTTP request for {request.host} with a redirect to HTTPS "
                "(tls.httpsRedirect: true), so it serves nothing over HTTP"
                + ("" if self.gateway_servers(gateway, request.host, "https") else
                   ", and it has no HTTPS server for the host either")))
        admitted, excluded = [], []
        for vs in virtual_services:
            if any(self._server_admits(gateway, server, vs, request.host) for server in servers):
                admitted.append(vs)
            elif request.gateway in self.gateways_of(vs):
                entries = ", ".join(str(h) for server in servers for h in server.get("hosts") or [])
                excluded.append((vs, f"{vs} is in namespace {vs.namespace}, which the Gateway's server hosts "
                                     f"({entries}) do not admit for {request.host}"))
        decision = evaluate(admitted, request)
        if excluded:
            ignored = decision.ignored + tuple(excluded)
            reason = decision.reason + ("; " + "; ".join(w for _, w in excluded) if not decision.matched else "")
            decision = replace(decision, ignored=ignored, reason=reason)
        return decision

    def gateway_servers(self, gateway: Resource, host: str, scheme: str = "http") -> list[dict[str, Any]]:
        """Servers of a Gateway that take `host` over `scheme` (http: HTTP-family ports; https: HTTPS/TLS)."""
        wanted = ("HTTPS", "TLS") if scheme == "https" else ("HTTP", "HTTP2", "HTTP_PROXY", "GRPC", "GRPC-WEB")
        host = host.rsplit(":", 1)[0].lower()
        found = []
        for server in gateway.spec.get("servers") or []:
            if not isinstance(server, dict):
                continue
            protocol = str(_dict(server.get("port")).get("protocol") or "").upper()
            if protocol in wanted and any(host_matches(split_gateway_host(str(e))[1].lower(), host)
                                          for e in server.get("hosts") or []):
                found.append(server)
        return found

    @staticmethod
    def _server_admits(gateway: Resource, server: dict[str, Any], vs: Resource, host: str) -> bool:
        host = host.rsplit(":", 1)[0].lower()
        for entry in server.get("hosts") or []:
            offered = server_admits(str(entry), gateway.namespace, vs.namespace)
            if offered is not None and host_matches(offered.lower(), host):
                return True
        return False

    def shares_by_label(self, decision: RouteDecision, label: str = "version") -> dict[str | None, float]:
        """Share of the decision's requests reaching pods by a pod label (e.g. {"v1": 0.8, "v3": 0.2}).

        A destination without subset spreads its share evenly over the service's workloads; a destination whose
        subset selects nothing contributes to the key None (in a real mesh those requests fail with 503).
        """
        shares: dict[str | None, float] = {}
        for destination in decision.destinations:
            workloads = self.endpoints(destination.host, destination.subset)
            if not workloads:
                shares[None] = shares.get(None, 0.0) + destination.share
                continue
            for workload in workloads:
                value = pod_labels_of(workload).get(label)
                shares[value] = shares.get(value, 0.0) + destination.share / len(workloads)
        return shares

    def gateways_of(self, vs: Resource) -> list[str]:
        """`namespace/name` of the gateways a VirtualService binds to (`mesh` included when it applies)."""
        return [gateway_key(str(g), vs.namespace) for g in vs.spec.get("gateways") or []] or ["mesh"]

    def gateway_pods(self, gateway: Resource) -> list[Resource]:
        """Gateway proxies a Gateway's selector picks. Istio looks in every namespace by default."""
        selector = gateway.spec.get("selector") or {}
        if not isinstance(selector, dict) or not selector:
            return []
        return [
            r for r in self.resources
            if r.kind in WORKLOAD_KINDS and all(pod_labels_of(r).get(k) == v for k, v in selector.items())
        ]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def pod_labels_of(resource: Resource) -> dict[str, str]:
    if resource.kind == "Pod":
        return resource.labels
    template = (resource.spec.get("template") or {}).get("metadata") or {}
    return template.get("labels") or {}


def has_sidecar(pod: dict[str, Any]) -> bool:
    """Whether Istio's proxy runs beside the application in a pod (plain dict): a container named istio-proxy, or
    with native sidecars an init container of that name with restartPolicy Always (an init container without it
    runs to completion before the application starts: Kubernetes documentation, "Sidecar Containers")."""
    spec = pod.get("spec") or {}
    if any(c.get("name") == SIDECAR for c in spec.get("containers") or []):
        return True
    return any(c.get("name") == SIDECAR and c.get("restartPolicy") == "Always" for c in spec.get("initContainers") or [])
