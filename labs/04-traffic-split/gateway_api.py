"""Lab 04 answered with the Kubernetes Gateway API (in the mesh, "GAMMA"): an HTTPRoute attached to Service reviews
that sends end-user: jason to reviews-v2 and splits everyone else 80/20 between reviews-v1 and reviews-v3, Bookinfo's
per-version Services (samples/bookinfo/platform/kube/bookinfo-versions.yaml; no DestinationRule subsets). Where the
requests go is judged by the lab's own checks (config.route); these say what only the Gateway API can get wrong."""

from labtools.grading import fail
from labtools.grading.gateway_api import backend_problems, describe
from labtools.meshconfig.gateway_api import HTTPROUTE, attachments
from labtools.meshconfig.gateway_api.attachment import service_ports

VERSIONS = ("v1", "v2", "v3")


def chosen(config):
    """Answered with the Gateway API: a submitted HTTPRoute names reviews (as parent or backend)."""
    def names_reviews(route):
        refs = list(route.spec.get("parentRefs") or []) + [
            b for rule in route.spec.get("rules") or [] if isinstance(rule, dict) for b in rule.get("backendRefs") or []]
        return any(isinstance(ref, dict) and str(ref.get("name", "")).startswith("reviews") for ref in refs)

    return any(r.qualified_kind == HTTPROUTE and names_reviews(r) for r in config.submitted)


def destination_rule_defines_subsets(config):
    problems = []
    for version in VERSIONS:
        name = f"reviews-{version}"
        if config.get("Service", name) is None:
            problems.append(f"Service {name} is missing")
            continue
        selected = sorted(w.name for w in config.endpoints(name))
        if selected != [name]:
            problems.append(f"Service {name} selects {', '.join(selected) or 'no pods'}")
    if problems:
        fail("A Gateway API route splits traffic between Services, one per version: " + "; ".join(problems) + ".",
             hint="`labtools reset 04` applies Bookinfo's per-version Services (bookinfo-versions.yaml).")
    return ("Gateway API answer: Services reviews-v1, reviews-v2 and reviews-v3 each select one version "
            "(the split is between Services, so no DestinationRule subsets are needed).")


def every_subset_exists(config):
    routes = [r for r in config.submitted if r.qualified_kind == HTTPROUTE]
    mesh = [(r, p) for r in routes for p in attachments(config, r) if p.mesh and p.name == "reviews"]
    if not mesh:
        fail("No HTTPRoute has a parentRef to Service reviews, so none applies to requests for reviews inside the "
             "mesh (a route attached to a Gateway applies only to requests entering through it).",
             hint='parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]')
    for route, parent in mesh:
        if not parent.accepted:
            fail(describe(parent.finding) + f" So HTTPRoute {route.name} does not apply to reviews.")
        ports = service_ports(parent.parent)
        if parent.port is None and parent.section is None and len(ports) > 1:
            fail(f"{route}: {parent.path}.port is not set, so the route applies to every port of Service reviews "
                 f"({', '.join(map(str, ports))}), not only to its HTTP port 9080.", hint="port: 9080")
        backend_problems(config, route)
    names = ", ".join(sorted({r.name for r, _ in mesh}))
    return f"HTTPRoute {names} is attached to Service reviews, and every backendRef names a Service port that exists."
