"""Istio security policies as data: which mTLS mode a workload gets, and whether a request is authorized.

PeerAuthentication: a policy selecting the workload beats the namespace's policy without selector, which beats the
mesh-wide one in the root namespace (istio-system); UNSET inherits; with none at all the mode is PERMISSIVE.
AuthorizationPolicy: DENY policies are evaluated before ALLOW; when any ALLOW policy applies to a workload, a
request must match one of its rules; a policy with no rules allows nothing, and a rule with no from/to/when
matches every request. Principals and namespaces need an mTLS identity, so a caller without a sidecar has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from labtools.meshconfig.resources import Resource

# Istio's root namespace (meshConfig.rootNamespace, default istio-system): policies there apply mesh-wide.
# Written out here because meshconfig stays pure (no settings); settings.SYSTEM_NAMESPACE is the same name.
ROOT_NAMESPACE = "istio-system"


@dataclass(frozen=True)
class Caller:
    """Who sends a request and what it asks for. `principal` is None for a client without a sidecar."""

    principal: str | None
    method: str = "GET"
    path: str = "/"
    port: int | None = None
    host: str | None = None

    @property
    def namespace(self) -> str | None:
        parts = (self.principal or "").split("/")
        return parts[2] if len(parts) >= 5 and parts[1] == "ns" else None


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    policy: Resource | None
    reason: str


def mtls_mode(policies: Iterable[Resource], namespace: str, labels: dict[str, str], port: int | None = None) -> tuple[str, Resource | None]:
    """The effective mTLS mode for a workload and the policy that decides it."""
    policies = [p for p in policies if p.kind == "PeerAuthentication"]
    layers = [
        [p for p in policies if p.namespace == namespace and _selects(p, labels) and _has_selector(p)],
        [p for p in policies if p.namespace == namespace and not _has_selector(p)],
        [p for p in policies if p.namespace == ROOT_NAMESPACE and not _has_selector(p)],
    ]
    for layer in layers:
        for policy in layer:
            mode = _mode(policy, port)
            if mode and mode != "UNSET":
                return mode, policy
    return "PERMISSIVE", None


def authorize(policies: Iterable[Resource], namespace: str, labels: dict[str, str], caller: Caller) -> Verdict:
    applying = [
        p for p in policies
        if p.kind == "AuthorizationPolicy"
        and (p.namespace == namespace or p.namespace == ROOT_NAMESPACE)
        and _selects(p, labels)
    ]
    for policy in applying:
        if _action(policy) == "DENY" and _any_rule_matches(policy, caller):
            return Verdict(False, policy, f"denied by DENY policy {policy.namespace}/{policy.name}")
    allow = [p for p in applying if _action(p) == "ALLOW"]
    if not allow:
        return Verdict(True, None, "no ALLOW policy applies, so everything is allowed")
    for policy in allow:
        if _any_rule_matches(policy, caller):
            return Verdict(True, policy, f"allowed by {policy.namespace}/{policy.name}")
    names = ", ".join(f"{p.namespace}/{p.name}" for p in allow)
    return Verdict(False, None, f"no rule of the ALLOW policies ({names}) matches")


def value_matches(pattern: str, value: str | None) -> bool:
    """Istio's policy string match: exact, `*`, `prefix*` or `*suffix`."""
    if value is None:
        return False
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return value == pattern


def _any_rule_matches(policy: Resource, caller: Caller) -> bool:
    return any(isinstance(rule, dict) and _rule_matches(rule, caller) for rule in policy.spec.get("rules") or [])


def _rule_matches(rule: dict[str, Any], caller: Caller) -> bool:
    sources = [f.get("source") or {} for f in rule.get("from") or [] if isinstance(f, dict)]
    operations = [t.get("operation") or {} for t in rule.get("to") or [] if isinstance(t, dict)]
    if rule.get("from") and not any(_source_matches(s, caller) for s in sources):
        return False
    if rule.get("to") and not any(_operation_matches(o, caller) for o in operations):
        return False
    for condition in rule.get("when") or []:
        if not _condition_matches(condition, caller):
            return False
    return True


def _source_matches(source: dict[str, Any], caller: Caller) -> bool:
    checks = (
        ("principals", "notPrincipals", caller.principal),
        ("namespaces", "notNamespaces", caller.namespace),
    )
    for positive, negative, value in checks:
        if source.get(positive) is not None and not any(value_matches(str(p), value) for p in source[positive]):
            return False
        if source.get(negative) and any(value_matches(str(p), value) for p in source[negative]):
            return False
    if source.get("requestPrincipals"):
        return False  # no JWT in the labs' requests
    return True


def _operation_matches(operation: dict[str, Any], caller: Caller) -> bool:
    checks = (
        ("methods", "notMethods", caller.method),
        ("paths", "notPaths", caller.path),
        ("hosts", "notHosts", caller.host),
        ("ports", "notPorts", str(caller.port) if caller.port is not None else None),
    )
    for positive, negative, value in checks:
        if operation.get(positive) is not None and not any(value_matches(str(p), value) for p in operation[positive]):
            return False
        if operation.get(negative) and any(value_matches(str(p), value) for p in operation[negative]):
            return False
    return True


def _condition_matches(condition: Any, caller: Caller) -> bool:
    if not isinstance(condition, dict):
        return False
    known = {"source.principal": caller.principal, "source.namespace": caller.namespace, "request.method": caller.method}
    if condition.get("key") not in known:
        return False  # a condition we cannot evaluate offline is taken as not met
    value = known[condition["key"]]
    values, not_values = condition.get("values"), condition.get("notValues")
    if values is not None and not any(value_matches(str(v), value) for v in values):
        return False
    return not (not_values and any(value_matches(str(v), value) for v in not_values))


def _action(policy: Resource) -> str:
    return str(policy.spec.get("action") or "ALLOW")


def _has_selector(policy: Resource) -> bool:
    selector = policy.spec.get("selector")
    return isinstance(selector, dict) and bool(selector.get("matchLabels"))


def _selects(policy: Resource, labels: dict[str, str]) -> bool:
    if not _has_selector(policy):
        return True
    return all(labels.get(k) == v for k, v in policy.spec["selector"]["matchLabels"].items())


def _mode(policy: Resource, port: int | None) -> str | None:
    if port is not None:
        for key, setting in (policy.spec.get("portLevelMtls") or {}).items():
            if str(key) == str(port) and isinstance(setting, dict) and setting.get("mode"):
                return str(setting["mode"])
    mtls = policy.spec.get("mtls")
    return str(mtls.get("mode") or "UNSET") if isinstance(mtls, dict) else "UNSET"
