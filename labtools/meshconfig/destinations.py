"""The DestinationRule a proxy applies to a host, when several compete, as istiod consolidates them.

Following istio/istio release-1.31 pilot/pkg/model:
- push_context.go, destinationRule: a proxy looks first at the DestinationRules of its own namespace (those visible
  there), then at those its service's namespace exports to it, then at those the root namespace (istio-system)
  exports; the first place with a host match decides, and there the most specific host wins.
- push_context.go, setDestinationRules: rules are taken in creation order (files: the order they are applied).
- destination_rule.go, mergeDestinationRule: rules for the same host with equal exportTo are merged into the first:
  subsets are added unless one of that name exists already (the later one is dropped), and the first rule's
  top-level trafficPolicy stays (a later one counts only when the first has none). With different exportTo the
  later rule stands apart (merged into an earlier one when its exportTo covers it).
- sidecar.go, SidecarScope.DestinationRule: of several rules standing apart, the last one is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labtools.meshconfig.hosts import fqdn, host_matches, specificity
from labtools.meshconfig.resources import Resource
from labtools.meshconfig.visibility import PRIVATE, PUBLIC

ROOT_NAMESPACE = "istio-system"


@dataclass
class DestinationPolicy:
    """What a proxy applies to one host: the rules merged into it (first first), their subsets and traffic policy,
    and sentences naming what Istio dropped and why."""

    host: str
    rules: list[Resource] = field(default_factory=list)
    subsets: list[tuple[Resource, dict[str, Any]]] = field(default_factory=list)
    traffic_policy: dict[str, Any] | None = None
    policy_from: Resource | None = None
    dropped: list[str] = field(default_factory=list)

    def subset(self, name: str) -> tuple[Resource, dict[str, Any]] | None:
        return next(((rule, s) for rule, s in self.subsets if s.get("name") == name), None)

    def add(self, rule: Resource) -> None:
        if self.rules:
            first = self.rules[0]
            for subset in _subsets(rule):
                if self.subset(str(subset.get("name"))):
                    self.dropped.append(f"subset {subset.get('name')} of {rule} is dropped: {first} already defines "
                                        "a subset of that name for the same host")
                else:
                    self.subsets.append((rule, subset))
            policy = rule.spec.get("trafficPolicy")
            if isinstance(policy, dict) and self.traffic_policy is not None:
                self.dropped.append(f"the trafficPolicy of {rule} is ignored: {self.policy_from} is applied first "
                                    "to the same host and has one, and Istio keeps only the first")
            elif isinstance(policy, dict):
                self.traffic_policy, self.policy_from = policy, rule
        else:
            self.subsets = [(rule, s) for s in _subsets(rule)]
            policy = rule.spec.get("trafficPolicy")
            if isinstance(policy, dict):
                self.traffic_policy, self.policy_from = policy, rule
        self.rules.append(rule)


def destination_policy(rules: list[Resource], host: str, client_namespace: str) -> DestinationPolicy | None:
    """The consolidated DestinationRule a proxy in `client_namespace` applies to `host` (an FQDN), or None."""
    rules = [r for r in rules if r.kind == "DestinationRule"]
    service_namespace = _service_namespace(host)
    places = []
    if client_namespace != ROOT_NAMESPACE:
        places.append([r for r in rules if r.namespace == client_namespace and _local(r)])
    else:
        places.append([r for r in rules if r.namespace == ROOT_NAMESPACE and _local(r) and not _exported(r)])
    if service_namespace:
        places.append([r for r in rules if r.namespace == service_namespace and _exported(r)
                       and _exported_to(r, client_namespace)])
    places.append([r for r in rules if r.namespace == ROOT_NAMESPACE and _exported(r) and _exported_to(r, client_namespace)])
    for place in places:
        matching = [(r, _host(r)) for r in place if host_matches(_host(r), host)]
        if not matching:
            continue
        best = max(specificity(h) for _, h in matching)
        chosen = [r for r, h in matching if specificity(h) == best]
        entries = _consolidate(chosen, host)
        used = entries[-1]
        for entry in entries[:-1]:
            names = ", ".join(str(r) for r in entry.rules)
            used.dropped.append(f"{names} is not used by this proxy: its exportTo differs from that of "
                                f"{used.rules[0]}, so Istio keeps them apart and uses the last one")
        return used
    return None


def hidden_rules(rules: list[Resource], host: str, client_namespace: str) -> list[str]:
    """Why each DestinationRule for `host` that a proxy in `client_namespace` cannot see is invisible there."""
    found = []
    for rule in rules:
        if rule.kind != "DestinationRule" or not host_matches(_host(rule), host):
            continue
        local = rule.namespace == client_namespace and _local(rule)
        if not local and not (_exported(rule) and _exported_to(rule, client_namespace)):
            listed = ", ".join(sorted(_raw_export_to(rule)))
            found.append(f"{rule} has exportTo: [{listed}], so sidecars in namespace {client_namespace} never "
                         "receive it")
    return found


def _consolidate(rules: list[Resource], host: str) -> list[DestinationPolicy]:
    entries: list[tuple[frozenset[str], DestinationPolicy]] = []
    for rule in rules:
        exported = _raw_export_to(rule)
        separate = True
        for entry_export, entry in entries:
            if exported == entry_export:
                separate = False
            elif not (entry_export and exported >= entry_export):
                continue
            entry.add(rule)
        if separate:
            policy = DestinationPolicy(host)
            policy.add(rule)
            entries.append((exported, policy))
    return [entry for _, entry in entries]


def _subsets(rule: Resource) -> list[dict[str, Any]]:
    return [s for s in rule.spec.get("subsets") or [] if isinstance(s, dict)]


def _host(rule: Resource) -> str:
    return fqdn(str(rule.spec.get("host", "")), rule.namespace)


def _raw_export_to(rule: Resource) -> frozenset[str]:
    entries = rule.spec.get("exportTo")
    return frozenset(str(e) for e in entries) if isinstance(entries, list) else frozenset()


def _local(rule: Resource) -> bool:
    """Indexed for its own namespace: no exportTo, `*`, `.` or its own namespace by name."""
    exported = _raw_export_to(rule)
    return not exported or bool(exported & {PUBLIC, PRIVATE, rule.namespace})


def _exported(rule: Resource) -> bool:
    """Exported beyond its namespace (the mesh default for DestinationRules is `*`)."""
    exported = _raw_export_to(rule)
    return not (len(exported) == 1 and exported & {PRIVATE, rule.namespace})


def _exported_to(rule: Resource, namespace: str) -> bool:
    exported = _raw_export_to(rule)
    return not exported or PUBLIC in exported or namespace in exported


def _service_namespace(host: str) -> str | None:
    suffix = ".svc.cluster.local"
    if host.endswith(suffix):
        parts = host[: -len(suffix)].split(".")
        return parts[1] if len(parts) == 2 else None
    return None
