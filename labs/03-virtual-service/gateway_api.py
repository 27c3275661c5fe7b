"""Lab 03 answered with the Kubernetes Gateway API: an HTTPRoute bookinfo attached to the Gateway API Gateway
bookinfo-gateway of lab 02 (given with it: the lab's setup holds only the Istio API's Gateway), for hostname
bookinfo.app, sending Bookinfo's paths to productpage:9080. Which rule a request meets is judged by the same checks
as for a VirtualService (config.route); these say what only the Gateway API can get wrong, naming the field."""

from labtools.grading import fail
from labtools.grading.gateway_api import (
    INGRESS_GATEWAY, backend_problems, describe, parent_problem, require_gateway, require_route,
)
from labtools.meshconfig.gateway_api import HTTPROUTE, attachments
from labtools.meshconfig.hosts import host_matches

ROUTE = "bookinfo"


def chosen(config):
    """Answered with the Gateway API: an HTTPRoute bookinfo was submitted (live, a VirtualService bookinfo restored
    by a lab's setup may stand beside it; it serves the other API's gateway)."""
    return any(r.qualified_kind == HTTPROUTE and r.name == ROUTE for r in config.submitted)


def virtual_service_exists(config):
    require_route(config, ROUTE)
    return f"HTTPRoute {ROUTE} exists."


def host_is_bookinfo_app(config, target):
    route = require_route(config, ROUTE)
    refused = [p.finding for p in attachments(config, route) if p.finding and p.finding.path == "spec.hostnames"]
    if refused:
        fail(describe(refused[0]) + f" The route is not attached there, so requests for {target.host} never meet it.",
             hint=f"hostnames: [{target.host}] (or leave hostnames out: the route then takes the listener's).")
    hostnames = [str(h) for h in route.spec.get("hostnames") or []]
    if hostnames and not any(host_matches(h, target.host) for h in hostnames):
        fail(f"HTTPRoute {ROUTE}: spec.hostnames is {hostnames}; requests through the gateway carry Host: "
             f"{target.host}, so they never meet its rules.", hint=f"hostnames: [{target.host}]")
    return f"HTTPRoute {ROUTE} serves {target.host}."


def bound_to_gateway(config, target):
    route = require_route(config, ROUTE)
    require_gateway(config)
    parent_problem(config, route, lambda p: not p.mesh and p.name == INGRESS_GATEWAY and p.namespace == target.namespace)
    return f"HTTPRoute {ROUTE} is attached to Gateway {INGRESS_GATEWAY}."


def backends_resolve(config, target):
    backend_problems(config, require_route(config, ROUTE))
