"""Lab 01: expose Kiali and Prometheus on fixed NodePorts, then read the mesh through them."""

from labtools import settings
from labtools.grading import Lab, fail
from labtools.grading.expect import describe_reply, require, watch
from labtools.probes.facade import KIALI_URL, PROMETHEUS_URL

lab = Lab("01-observability", "Observability: Kiali and Prometheus", uses=("istio", "bookinfo", "addons"))

ADDONS_NAMESPACE = settings.SYSTEM_NAMESPACE
# Service -> {port: nodePort}. kind maps these node ports to 127.0.0.1 on the host (clusters/kind.yaml).
EXPECTED = {"kiali": {20001: 30007, 9090: 30008}, "prometheus": {9090: 30009}}


def check_node_ports(config, name):
    service = require(config, "Service", name, ADDONS_NAMESPACE)
    kind = service.spec.get("type", "ClusterIP")
    if kind != "NodePort":
        fail(f"Service {name} has type {kind}; a NodePort Service is what makes it reachable from the host.",
             hint=f"spec.type: NodePort in Service {name} (namespace {ADDONS_NAMESPACE}).")
    ports = {p.get("port"): p for p in service.spec.get("ports") or [] if isinstance(p, dict)}
    problems = []
    for port, node_port in EXPECTED[name].items():
        if port not in ports:
            problems.append(f"port {port} is missing")
        elif ports[port].get("nodePort") != node_port:
            found = ports[port].get("nodePort")
            problems.append(f"port {port} has nodePort {found if found else 'unset (Kubernetes picks a random one)'}, "
                            f"expected {node_port}")
    if problems:
        fail(f"Service {name}: " + "; ".join(problems) + ". The kind cluster forwards only 30007-30009 to your machine.")
    return ", ".join(f"{p} -> {n}" for p, n in EXPECTED[name].items())


@lab.check(points=2)
def kiali_on_node_ports(config):
    """Kiali is a NodePort Service: 20001 on 30007, 9090 on 30008"""
    return check_node_ports(config, "kiali")


@lab.check(points=2)
def prometheus_on_node_port(config):
    """Prometheus is a NodePort Service: 9090 on 30009"""
    return check_node_ports(config, "prometheus")


@lab.check(points=2, requires=[kiali_on_node_ports, prometheus_on_node_port])
def services_select_running_pods(config):
    """Both Services select the addon pods"""
    for name in EXPECTED:
        service = config.get("Service", name, ADDONS_NAMESPACE)
        selector = service.spec.get("selector") or {}
        if not selector:
            fail(f"Service {name} has no selector, so it sends traffic nowhere. Keep the selector of the addon's Service.")
        if not config.workloads(ADDONS_NAMESPACE, selector):
            fail(f"Service {name} selects {selector}, which matches no pod in {ADDONS_NAMESPACE}: requests to it get "
                 "no answer. Selectors copied from older addon charts (app: prometheus, component: server) no longer "
                 "match: today's pods carry app.kubernetes.io/name and app.kubernetes.io/instance labels.",
                 hint=f"kubectl get pods -n {ADDONS_NAMESPACE} --show-labels shows the labels to select.")


# --- live: the addons answer on the host ---------------------------------------------------------------------------
# Kiali serves under web_root /kiali; Istio's samples/addons/kiali.yaml (Kiali 2.x) probes /kiali/healthz for
# readiness and liveness, so that path answers 200 without logging in once Kiali runs.
KIALI_HEALTH = "/kiali/healthz"
KIALI_WAIT_S = 30  # Kiali's startup probe allows it about a minute; a fresh install may still be starting
# Prometheus scrapes the proxies every 15 s (samples/addons/prometheus.yaml): traffic sent just before the check
# shows up within one or two scrapes.
PROMETHEUS_WAIT_S = 40
PROMETHEUS_INTERVAL_S = 5
REQUESTS_QUERY = 'istio_requests_total{{destination_service_name="productpage",destination_service_namespace="{namespace}"}}'
# The route from the host to productpage only appears in labs 02 and 03, so the traffic starts inside the mesh.
MAKE_TRAFFIC = ('Send some first: the notebook\'s "Make some traffic" cell, or from a terminal '
                "`kubectl exec deploy/ratings-v1 -n {namespace} -- curl -s -o /dev/null productpage:9080/productpage` "
                "a few times (after lab 03: `labtools traffic -n 50`). Prometheus picks the counts up at its next "
                "scrape (every 15 s); check again after 30 s.")


@lab.check(points=2, live=True, requires=[kiali_on_node_ports, services_select_running_pods])
def kiali_answers(probe):
    """Kiali answers on 127.0.0.1:30007"""
    kiali = probe.site(KIALI_URL)
    seen = watch(lambda: kiali.request(KIALI_HEALTH), until=lambda r: r.status == 200, timeout=KIALI_WAIT_S,
                 describe=describe_reply)
    reply, url = seen.last, kiali.url(KIALI_HEALTH)
    if seen:
        return f"{url} answered 200."
    if not reply.answered:
        from labtools.probes import ProbeError

        # The Service is right (the checks before this one passed), so the path to it is what is missing.
        raise ProbeError(
            f"Nothing answers at {url}: {describe_reply(reply)} (after {seen.elapsed_s:.0f} s).",
            hint="Is Kiali running (kubectl get pods -n istio-system -l app.kubernetes.io/name=kiali)? The kind "
                 "cluster forwards 127.0.0.1:30007 only when created by `labtools up` (clusters/kind.yaml).",
        )
    fail(f"{url} answered {describe_reply(reply)}, not 200 (after {seen.elapsed_s:.0f} s of trying): either Kiali is "
         "not healthy yet, or node port 30007 leads to something other than Kiali's web port.",
         hint="nodePort 30007 belongs to port 20001 of Service kiali (the web UI and API); "
              "kubectl logs -n istio-system deploy/kiali says whether Kiali is unwell.")


@lab.check(points=2, live=True, requires=[prometheus_on_node_port, services_select_running_pods])
def prometheus_counts_productpage(probe, target):
    """Prometheus on 127.0.0.1:30009 holds istio_requests_total for productpage"""
    query = REQUESTS_QUERY.format(namespace=target.namespace)
    # probe.prometheus raises ProbeError when Prometheus does not answer: after the Service checks passed, that is
    # the environment (Prometheus not running), reported as an error at once rather than waited for.
    seen = watch(lambda: probe.prometheus(query, url=PROMETHEUS_URL), until=lambda samples: _total(samples) > 0,
                 timeout=PROMETHEUS_WAIT_S, interval=PROMETHEUS_INTERVAL_S, describe=_describe_samples)
    if not seen:
        fail(f"Prometheus answers at {PROMETHEUS_URL}, but holds no requests to productpage in namespace "
             f"{target.namespace} (query {query}; waited {seen.elapsed_s:.0f} s): nothing has called productpage "
             "through the mesh yet.", hint=MAKE_TRAFFIC.format(namespace=target.namespace))
    return f"Prometheus counts {_describe_samples(seen.last)}."


def _total(samples):
    return sum(sample.value for sample in samples)


def _describe_samples(samples):
    if not samples:
        return "no istio_requests_total series for productpage"
    by_reporter: dict[str, float] = {}
    for sample in samples:
        reporter = sample.labels.get("reporter", "?")
        by_reporter[reporter] = by_reporter.get(reporter, 0) + sample.value
    parts = ", ".join(f"{reporter} {count:.0f}" for reporter, count in sorted(by_reporter.items()))
    return f"{_total(samples):.0f} requests to productpage in {len(samples)} series (reported by {parts})"
