"""What the learner's routing does, evaluated from their answer files (no cluster): the rule each request meets and
the share of requests each version gets."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from labtools.errors import LabtoolsError
from labtools.grading.checks import Lab, Target
from labtools.grading.expect import percent
from labtools.grading.gateway_api import answered_in_gateway_api
from labtools.grading.offline import build_config
from labtools.files.manifests import load_manifests
from labtools.meshconfig import Destination, MeshConfig, Request, RouteDecision, fqdn
from labtools.meshconfig.hosts import gateway_key
from labtools.meshconfig.routing import applicable_virtual_services
from labtools.notebook.exercise import answer_files
from labtools.notebook.views import ERROR, Notice, Table, View


def offline_config(lab: Lab, namespace: str) -> MeshConfig:
    """The lab's starting objects with the learner's answer files on top, as offline grading sees them."""
    files = answer_files(lab)
    submitted = load_manifests(files, default_namespace=namespace) if files else []
    return build_config(lab, submitted, namespace)


def routes(lab: Lab, namespace: str, requests: Iterable[str | Request], host: str | None = None, gateway: str | None = None,
           headers: Mapping[str, str] | None = None) -> View:
    """Which rule each request meets and where it goes, evaluated from your answer files (no cluster needed).

    Strings are paths: `lab.routes(["/productpage", "/admin"], gateway="bookinfo-gateway")`; or pass
    labtools.meshconfig.Request objects for full control (headers, method, host).
    """
    try:
        config = offline_config(lab, namespace)
    except LabtoolsError as problem:
        return Notice(ERROR, problem.message, hint=problem.hint)
    rows = []
    gateway_api = answered_in_gateway_api(lab.id, config)  # through the answer's own API's gateway
    for item in requests:
        request = item if isinstance(item, Request) else _request(
            namespace, host or (Target.for_namespace(namespace).host if gateway else "productpage"), item, headers,
            gateway, gateway_api)
        decision = config.route(request)
        if decision.matched:
            target = ", ".join(f"{d.label()} ({percent(d.share)})" for d in decision.destinations) or "no destination"
            meets = decision.rule_label
        elif request.gateway:
            meets, target = decision.reason, "404: the gateway has no route for it"
        elif _no_rule_covers(config, request):
            meets, target = decision.reason, "the Service itself: spread over all its pods (no routing rules)"
        else:
            meets, target = decision.reason, "404: a VirtualService covers the host, but no rule matches"
        rows.append((request.describe(), meets, target, _extras(decision)))
    return Table(("Request", "Meets", "Goes to", "Also"), rows, title="What your YAML does with these requests",
                 note=f"Evaluated from {_answers_label(lab)} (the lab's starting objects included); no cluster involved.",
                 css_class="lt-table lt-routes")

def expected_split(lab: Lab, namespace: str, host: str = "reviews", headers: Mapping[str, str] | None = None, path: str = "/",
                   gateway: str | None = None, label: str = "version") -> dict[str, float]:
    """The share of requests each pod version gets by your answer files, e.g. {"v1": 0.8, "v3": 0.2}.

    Without a matching rule, a request inside the mesh goes to the Service itself: an even spread over its pods.
    A share that reaches no pod (a subset that selects nothing) appears as "no pod (503)".
    """
    config = offline_config(lab, namespace)
    request = _request(namespace, host, path, headers, gateway, answered_in_gateway_api(lab.id, config))
    decision = config.route(request)
    if not decision.matched:
        if not _no_rule_covers(config, request) or not config.endpoints(host):
            return {}
        decision = RouteDecision(request, destinations=(Destination(fqdn(host, namespace), None, None, 1.0),))
    shares = config.shares_by_label(decision, label)
    return {(k if k is not None else "no pod (503)"): v for k, v in shares.items() if v > 1e-9}


def _request(namespace: str, host: str, path: str, headers: Mapping[str, str] | None, gateway: str | None,
             gateway_api: bool = False) -> Request:
    """A request from the learner's namespace; `gateway` is named as a VirtualService names it, and is the Gateway
    API's Gateway of that name where the answer is written in that API."""
    return Request(host=host, path=path, headers=dict(headers or {}), source_namespace=namespace,
                   gateway=gateway_key(gateway, namespace) if gateway else None, gateway_api=bool(gateway) and gateway_api)


def _answers_label(lab: Lab) -> str:
    files = answer_files(lab)
    return "exercise/" + (", ".join(p.name for p in files) if files else " (empty)")


def _no_rule_covers(config: MeshConfig, request: Request) -> bool:
    """A request inside the mesh that no VirtualService applies to: the Service spreads it over all its pods."""
    return request.gateway is None and not applicable_virtual_services(config.of_kind("VirtualService"), request)


def _extras(decision: Any) -> str:
    parts = []
    if decision.timeout is not None:
        parts.append(f"timeout {decision.timeout:g} s")
    retries = decision.retries
    if retries:
        per_try = f", {retries['perTryTimeout']} per try" if retries.get("perTryTimeout") else ""
        parts.append(f"retries: {retries.get('attempts', '?')} attempts{per_try}")
    if decision.fault:
        delay, abort = decision.fault_percentages()
        fault = decision.fault
        if "delay" in fault:
            parts.append(f"delay {(fault['delay'] or {}).get('fixedDelay', '?')} for {delay:g}% of requests")
        if "abort" in fault:
            parts.append(f"abort with {(fault['abort'] or {}).get('httpStatus', '?')} for {abort:g}% of requests")
    return "; ".join(parts)
