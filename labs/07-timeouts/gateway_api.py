"""Lab 07 answered with the Kubernetes Gateway API: the HTTPRoute bookinfo of lab 03 (with its Gateway), whose rule
serving /productpage has timeouts.request: 3s. Istio turns timeouts.request into the route's timeout, and
timeouts.backendRequest into it too when no retries are set (istio/istio release-1.31, pilot/pkg/config/kube/gateway/
conversion.go)."""

from labtools.grading import fail
from labtools.grading.gateway_api import ingress_request, require_gateway, require_route, require_true_conditions
from labtools.meshconfig import format_duration, parse_duration
from labtools.meshconfig.gateway_api import HTTPROUTE

ROUTE = "bookinfo"


def chosen(config):
    """Answered with the Gateway API: an HTTPRoute bookinfo was submitted (live, a VirtualService bookinfo restored
    by a lab's setup may stand beside it; it serves the other API's gateway)."""
    return any(r.qualified_kind == HTTPROUTE and r.name == ROUTE for r in config.submitted)


WANTED_SECONDS = 3.0


def virtual_service_exists(config):
    route = require_route(config, ROUTE)
    require_gateway(config)
    require_true_conditions(config, route)  # live: a route Istio refused or cannot resolve serves nothing
    return f"HTTPRoute {ROUTE} exists."


def productpage_has_3s_timeout(config, target):
    decision = config.route(ingress_request(target, "/productpage", gateway_api=True))
    if not decision.matched:
        fail(f"/productpage through the gateway matches no rule ({decision.reason}); keep lab 03's HTTPRoute.")
    rule = decision.rule.get("gatewayApi") or {}
    where = f"HTTPRoute {decision.virtual_service.name}: spec.rules[{decision.rule_index}].timeouts"
    timeouts = rule.get("timeouts") if isinstance(rule.get("timeouts"), dict) else {}
    raw = decision.rule.get("timeout")
    if raw is None:
        fail(f"/productpage meets {decision.rule_label}, which has no timeout ({where}.request is not set).",
             hint="timeouts: {request: 3s} on the rule that serves /productpage")
    field = "request" if timeouts.get("request") else "backendRequest"
    try:
        seconds = parse_duration(raw)
    except ValueError as problem:
        fail(f"{where}.{field}: {raw!r}: {problem}.")
    if abs(seconds - WANTED_SECONDS) > 1e-9:
        fail(f"{where}.{field} is {raw}: /productpage gets a timeout of {format_duration(seconds)}; the task asks for "
             "3s (productpage's own retry to reviews would otherwise answer after about 6s).")
    return f"/productpage times out after {format_duration(seconds)} ({where}.{field})."
