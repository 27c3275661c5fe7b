"""Lab 01: expose Kiali and Prometheus on fixed NodePorts, then read the mesh through them."""

from labtools.grading import Lab, fail
from labtools.grading.expect import require

lab = Lab("01-observability", "Observability: Kiali and Prometheus", uses=("istio", "bookinfo", "addons"))

ADDONS_NAMESPACE = "istio-system"
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
