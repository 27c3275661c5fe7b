"""Grading answers written with the Kubernetes Gateway API beside answers written with Istio's API.

A lab check judges meaning, so one check accepts either spelling: `either_api(alternative)` runs the lab's Gateway
API version of a check when the learner answered that lab with the Gateway API, and the Istio version otherwise.
Which answer a lab got is the lab's own question: its Gateway API module's `chosen(config)` (e.g. "an HTTPRoute
bookinfo was submitted"); without one, any Gateway or HTTPRoute of gateway.networking.k8s.io counts. Live, the
learner's namespace may hold both (a lab's setup restores Istio objects), so labs ask for their own object. The helpers here name the field to fix, as the model
reports it (meshconfig.gateway_api).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from labtools.grading.checks import CheckFailed, fail
from labtools.meshconfig import MeshConfig, Request, RouteDecision
from labtools.meshconfig.gateway_api import (
    GATEWAY, HTTPROUTE, Finding, ParentAttachment, attachments, backend_findings, uses_gateway_api,
)

INGRESS_GATEWAY = "bookinfo-gateway"  # the Gateway of lab 02, in either API


def chosen(config: MeshConfig) -> bool:
    return uses_gateway_api(config)


# lab id -> how that lab tells a Gateway API answer (registered by either_api from the lab's Gateway API module)
_CHOOSERS: dict[str, Callable[[MeshConfig], bool]] = {}


def _chooser(alternative: Callable[..., Any]) -> Callable[[MeshConfig], bool]:
    module = inspect.getmodule(alternative)
    found = getattr(module, "chosen", chosen)
    source = getattr(module, "__file__", None)
    if source:
        from pathlib import Path

        _CHOOSERS[Path(source).resolve().parent.name] = found
    return found


def answered_in_gateway_api(lab_id: str, config: MeshConfig) -> bool:
    """Whether `config` holds this lab's answer in the Gateway API, by the lab's own `chosen` (False for a lab
    without a Gateway API answer, or whose checks are not loaded)."""
    decide = _CHOOSERS.get(lab_id)
    return decide is not None and decide(config)


def ingress_url(lab_id: str, config: MeshConfig) -> str | None:
    """Where live checks send ingress traffic for this lab's answer: the Gateway API ingress (a proxy of its own,
    settings.GATEWAY_API_INGRESS_URL) when the lab was answered with the Gateway API, else None (Istio's)."""
    from labtools import settings

    return settings.GATEWAY_API_INGRESS_URL if answered_in_gateway_api(lab_id, config) else None


def _accepted(function: Callable[..., Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """The evidence `function` asks for, of what the lab's Istio check was given (the Gateway API version of a check
    may need less, e.g. no `target`)."""
    wanted = inspect.signature(function).parameters
    return {name: value for name, value in arguments.items() if name in wanted}


def either_api(gateway_api_check: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate an offline check: grade with `gateway_api_check` (the same parameters, or fewer) for a Gateway API answer."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        answered_in_gateway_api = _chooser(gateway_api_check)

        @functools.wraps(function)  # keeps the parameters the runner reads (inspect follows __wrapped__)
        def check(**arguments: Any) -> Any:
            if not answered_in_gateway_api(arguments["config"]):
                return function(**arguments)
            try:
                return gateway_api_check(**_accepted(gateway_api_check, arguments))
            except CheckFailed as failure:
                failure.own_hints_only = True  # the check's hints are written for Istio's API
                raise

        return check

    return decorate


def ingress_request(target: Any, path: str, gateway_api: bool) -> Request:
    """A request for the lab's host through bookinfo-gateway: the Gateway API's or Istio's, as the answer chose."""
    return Request(host=target.host, path=path, gateway=f"{target.namespace}/{INGRESS_GATEWAY}",
                   gateway_api=gateway_api, source_namespace=target.namespace)


def require_route(config: MeshConfig, name: str):
    """The learner's HTTPRoute `name`, or a failure that names what was written instead."""
    from labtools.grading.expect import require

    try:
        return require(config, HTTPROUTE, name)
    except CheckFailed as failure:  # say it with the kind's short name, and what the learner wrote
        routes = [r for r in config.submitted if r.qualified_kind == HTTPROUTE]
        written = f" You wrote: {', '.join(str(r) for r in routes)}." if routes else ""
        misplaced = failure.message if "belongs in namespace" in failure.message else ""
        fail(misplaced or f"There is no HTTPRoute named {name!r} in namespace {config.namespace}.{written}",
             hint=f"apiVersion: gateway.networking.k8s.io/v1, kind: HTTPRoute, metadata.name: {name}.")
        raise


def require_gateway(config: MeshConfig, name: str = INGRESS_GATEWAY):
    found = config.get(GATEWAY, name)
    if found is None:
        istio = config.get("Gateway", name)
        also = (f" (Gateway {name} of networking.istio.io exists, but an HTTPRoute attaches only to a Gateway of "
                "gateway.networking.k8s.io)") if istio is not None else ""
        fail(f"There is no Gateway API Gateway named {name!r} in namespace {config.namespace}{also}.",
             hint="Include your Gateway from lab 02 (apiVersion gateway.networking.k8s.io/v1, gatewayClassName: istio).")
    return found


def parent_problem(config: MeshConfig, route, wanted: Callable[[ParentAttachment], bool]) -> ParentAttachment:
    """The route's parentRef that `wanted` picks, accepted; else a failure naming the field that keeps it out."""
    parents = attachments(config, route)
    picked = [p for p in parents if wanted(p)]
    for parent in picked:  # live: what Istio itself says about the attachment comes first
        require_true_conditions(config, route, parent.name)
    accepted = [p for p in picked if p.accepted]
    if accepted:
        return accepted[0]
    if picked:
        fail(f"{describe(picked[0].finding)} So HTTPRoute {route.name} is not attached there (Istio sets its "
             "Accepted condition to False) and none of its rules apply.")
    written = ", ".join(f"{p.kind} {p.namespace}/{p.name}" for p in parents) or "none"
    fail(f"HTTPRoute {route.name} has no parentRef to the parent this task needs (spec.parentRefs: {written}).")
    raise AssertionError  # unreachable


def backend_problems(config: MeshConfig, route) -> None:
    require_true_conditions(config, route)
    findings = backend_findings(config, route)
    if findings:
        fail("; ".join(describe(f) for f in findings) + " (Istio sets the route's ResolvedRefs condition to False, "
             "and requests meant for that backend fail.)")


def describe(finding: Finding | None) -> str:
    if finding is None:
        return ""
    return f"{finding.resource}: {finding.path}: {finding.message}"


def weights_note(decision: RouteDecision) -> str:
    """' (spec.rules[1].backendRefs weights: reviews-v1 50, reviews-v3 50)' for an HTTPRoute decision, else ''."""
    source = decision.virtual_service
    if source is None or source.kind != "HTTPRoute":
        return ""
    rule = decision.rule.get("gatewayApi") or {}
    refs = [b for b in rule.get("backendRefs") or [] if isinstance(b, dict)]
    weights = ", ".join(f"{b.get('name')} {b.get('weight', 1)}" for b in refs)
    return f" (spec.rules[{decision.rule_index}].backendRefs[*].weight: {weights})"


def gateway_api_first(pre_check: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate an offline check that judges both APIs alike (through config.route): for a Gateway API answer,
    `pre_check` (same parameters) runs first and fails on what only that API can get wrong."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        answered_in_gateway_api = _chooser(pre_check)

        @functools.wraps(function)
        def check(**arguments: Any) -> Any:
            if answered_in_gateway_api(arguments["config"]):
                pre_check(**_accepted(pre_check, arguments))
            return function(**arguments)

        return check

    return decorate


# --- live: the status Istio writes --------------------------------------------------------------------------------
# What a false condition means, by the reasons Istio reports (istio/istio release-1.31,
# pilot/pkg/config/kube/gateway/conditions.go, which uses the Gateway API's own reason names).
REASONS = {
    "NoMatchingParent": "the parentRef names no listener (sectionName) or port of that Gateway",
    "NotAllowedByListeners": "no listener admits the route: its allowedRoutes (namespaces, kinds) or protocol keep it out",
    "NoMatchingListenerHostname": "none of the route's hostnames is one the listener accepts",
    "RefNotPermitted": "a backend in another namespace needs a ReferenceGrant there",
    "BackendNotFound": "a backendRef names a Service, or a port of it, that does not exist",
    "InvalidKind": "a backendRef names a kind Istio cannot send traffic to",
    "InvalidParameters": "the Gateway's infrastructure.parametersRef names nothing usable",
    "Invalid": "Istio found the Gateway unusable",
    "Pending": "Istio has not finished deploying the Gateway's proxy yet",
}
CONDITIONS = ("Accepted", "ResolvedRefs", "Programmed")


def false_conditions(resource, parent_name: str | None = None) -> list[str]:
    """Every false Accepted/ResolvedRefs/Programmed condition Istio wrote on a Gateway or HTTPRoute, explained;
    for a route, only those of the parent named `parent_name` when given."""
    status = resource.data.get("status") if isinstance(resource.data.get("status"), dict) else {}
    found: list[tuple[str, dict]] = []
    if resource.kind == "HTTPRoute":
        for parent in status.get("parents") or []:
            name = ((parent or {}).get("parentRef") or {}).get("name")
            if parent_name is None or name == parent_name:
                found += [(f"for parent {name}", c) for c in (parent or {}).get("conditions") or []]
    else:
        found += [("", c) for c in status.get("conditions") or []]
        for listener in status.get("listeners") or []:
            found += [(f"on listener {(listener or {}).get('name')}", c) for c in (listener or {}).get("conditions") or []]
    explained = []
    for where, condition in found:
        if isinstance(condition, dict) and condition.get("type") in CONDITIONS and condition.get("status") == "False":
            reason = str(condition.get("reason", ""))
            meaning = REASONS.get(reason, "")
            text = f"Istio reports {condition['type']}: False {where} (reason {reason}"
            text += f": {meaning})" if meaning else ")"
            if condition.get("message"):
                text += f": {condition['message']}"
            explained.append(text.replace("  ", " "))
    return explained


def require_true_conditions(config: MeshConfig, resource, parent_name: str | None = None) -> None:
    """Live: fail with Istio's own words when it reports a condition of `resource` false (often the whole answer)."""
    if not config.live:
        return
    problems = false_conditions(resource, parent_name)
    if problems:
        fail(f"{resource}: " + "; ".join(problems) + ".",
             hint=f"kubectl get {resource.kind.lower()} {resource.name} -n {resource.namespace} -o yaml shows the "
                  "status Istio writes.")
