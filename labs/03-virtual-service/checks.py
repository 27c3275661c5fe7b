"""Lab 03: a VirtualService that routes Bookinfo's paths from the gateway to productpage."""

from labtools.grading import Lab, fail
from labtools.grading.catalog import companion
from labtools.grading.expect import describe_reply, require, watch
from labtools.grading.gateway_api import either_api, gateway_api_first, ingress_request
from labtools.meshconfig import fqdn

gateway_api = companion(__file__, "gateway_api.py")  # the same checks for an answer in the Kubernetes Gateway API

lab = Lab("03-virtual-service", "VirtualServices: routing requests from the gateway", uses=("istio", "bookinfo"))

ROUTED = ["/productpage", "/static/css/style.css", "/login", "/logout", "/api/v1/products", "/api/v1/products/0/reviews"]
NOT_ROUTED = ["/", "/admin", "/details/0"]
GATEWAY = "bookinfo-gateway"


def through_gateway(config, target, path):
    return config.route(ingress_request(target, path, gateway_api.chosen(config)))  # the answer's API's gateway


@lab.check(points=0)
@either_api(gateway_api.virtual_service_exists)
def virtual_service_exists(config):
    """VirtualService bookinfo exists"""
    require(config, "VirtualService", "bookinfo")


@lab.check(points=0, requires=virtual_service_exists)
@either_api(gateway_api.host_is_bookinfo_app)
def host_is_bookinfo_app(config, target):
    """It serves host {host}"""
    vs = config.get("VirtualService", "bookinfo")
    hosts = [str(h) for h in vs.spec.get("hosts") or []]
    if target.host not in [h.lower() for h in hosts]:
        fail(f"VirtualService bookinfo has hosts {hosts}; requests through the gateway carry Host: {target.host}, "
             f"so they never meet its rules.", hint=f"Set hosts: [{target.host}].")


@lab.check(points=3, requires=virtual_service_exists,
           hint="A VirtualService without gateways applies only inside the mesh (the implicit gateway `mesh`).")
@either_api(gateway_api.bound_to_gateway)
def bound_to_gateway(config, target):
    """It is bound to bookinfo-gateway"""
    vs = config.get("VirtualService", "bookinfo")
    gateways = config.gateways_of(vs)
    wanted = f"{target.namespace}/{GATEWAY}"
    if wanted not in gateways:
        written = ", ".join(str(g) for g in vs.spec.get("gateways") or [])
        bound = f"gateways [{written}], which resolve to {', '.join(gateways)}" if written else \
            "no gateway (so only to mesh), the sidecars"
        fail(f"VirtualService bookinfo binds to {bound}; requests arriving through {wanted} do not see it. A short "
             "gateway name means a Gateway in the VirtualService's own namespace; write namespace/name for another.",
             hint=f"Add gateways: [{GATEWAY}].")


@lab.check(points=3, requires=[host_is_bookinfo_app, bound_to_gateway])
@gateway_api_first(gateway_api.backends_resolve)
def app_paths_reach_productpage(config, target):
    """Bookinfo's paths reach productpage on port 9080"""
    productpage = fqdn("productpage", target.namespace)
    problems = []
    for path in ROUTED:
        decision = through_gateway(config, target, path)
        if not any(vs.name == "bookinfo" for vs in decision.considered):
            # The ingress gateway does not use VirtualService bookinfo at all: say why once, not per path.
            fail(f"The ingress gateway (the proxy that routes requests for {target.host}) does not use VirtualService "
                 f"bookinfo: {decision.reason}.")
        if not decision.matched:
            problems.append(f"{path} matches no rule")
            continue
        wrong = [d for d in decision.destinations if d.host != productpage or (d.port or 9080) != 9080]
        if not decision.destinations:
            problems.append(f"{path} meets {decision.rule_label}, which has no route destination")
        elif wrong:
            problems.append(f"{path} goes to {', '.join(d.label() for d in wrong)} ({decision.rule_label}); "
                            "expected productpage port 9080")
    if problems:
        fail("Through the gateway: " + "; ".join(problems) + "." + decision.ignored_note(),
             hint="Exact matches: /productpage, /login, /logout. Prefix matches: /static, /api/v1/products.")
    return f"All {len(ROUTED)} paths reach productpage:9080."


@lab.check(points=2, requires=[host_is_bookinfo_app, bound_to_gateway])
def other_paths_not_routed(config, target):
    """Other paths (/, /admin, /details/0) match no rule"""
    leaks = []
    for path in NOT_ROUTED:
        decision = through_gateway(config, target, path)
        if decision.matched:
            leaks.append(f"{path} is routed by {decision.rule_label}")
    if leaks:
        fail("; ".join(leaks) + ". Only Bookinfo's own paths should be exposed; a prefix match on / catches everything.",
             hint="Replace a catch-all prefix / by the exact and prefix matches the task lists.")


# --- live: through the ingress gateway ------------------------------------------------------------------------------
PROPAGATION_S = 20  # a VirtualService reaches the gateway a few seconds after it is applied
# Envoy's router adds this header to answers that came from an upstream (Istio keeps Envoy's debug headers unless
# proxyHeaders says otherwise); a 404 the gateway makes itself for "no route" has none.
UPSTREAM_TIME_HEADER = "x-envoy-upstream-service-time"


@lab.check(points=2, live=True, requires=app_paths_reach_productpage)
def productpage_answers_200(probe, target):
    """/productpage with Host {host} answers 200 through the ingress gateway"""
    seen = watch(lambda: probe.ingress("/productpage")[0], until=lambda reply: reply.status == 200,
                 timeout=PROPAGATION_S, describe=describe_reply)
    reply, where = seen.last, f"{probe.ingress_url}/productpage (Host: {target.host})"
    if seen:
        return f"{where} answered 200."
    waited = f" (after {seen.elapsed_s:.0f} s of trying)"
    if reply.status == 404:
        fail(f"{where} answered 404{waited}: the gateway listens, but no route of your VirtualService reached it. "
             "Is VirtualService bookinfo applied in the cluster (kubectl get virtualservice bookinfo)?")
    if reply.status in (502, 503, 504):
        fail(f"{where} answered {reply.status}{waited}: the route matched, but productpage did not answer.",
             hint="Is productpage ready? `labtools status` shows the pods.")
    if not reply.answered:
        fail(f"{where}: {describe_reply(reply)}{waited}: the ingress gateway has no listener for it. Is Gateway "
             "bookinfo-gateway from lab 02 applied?")
    fail(f"{where} answered {describe_reply(reply)}{waited}; expected 200.")


@lab.check(points=1, live=True, requires=[other_paths_not_routed, productpage_answers_200])
def admin_answers_404(probe, target):
    """/admin answers 404 through the ingress gateway: no rule sends it to productpage"""
    # productpage itself answers 404 for /admin too, so a 404 counts only when the gateway made it (no route).
    seen = watch(lambda: probe.ingress("/admin")[0], until=_not_routed, timeout=PROPAGATION_S,
                 describe=describe_reply)
    reply, where = seen.last, f"{probe.ingress_url}/admin (Host: {target.host})"
    if seen:
        return f"{where} answered 404 from the gateway: no rule routes it."
    if reply.answered and UPSTREAM_TIME_HEADER in reply.headers:
        fail(f"{where} answered {reply.status}, and the answer came from behind the gateway (it carries "
             f"{UPSTREAM_TIME_HEADER}): a rule sends /admin on to a service, which should not see it. "
             "A prefix match on / catches every path.",
             hint="Replace a catch-all prefix / by the exact and prefix matches the task lists.")
    fail(f"{where} answered {describe_reply(reply)}; expected 404 from the gateway.")


def _not_routed(reply):
    return reply.status == 404 and UPSTREAM_TIME_HEADER not in reply.headers
