"""Lab 02: a Gateway that lets HTTP traffic for bookinfo.app into the mesh through the ingress gateway."""

from labtools import settings
from labtools.grading import Lab, fail
from labtools.grading.catalog import companion
from labtools.grading.expect import describe_reply, require, watch
from labtools.grading.gateway_api import either_api
from labtools.meshconfig.hosts import split_gateway_host

gateway_api = companion(__file__, "gateway_api.py")  # the same checks for an answer in the Kubernetes Gateway API

lab = Lab("02-gateway", "Gateways: letting traffic into the mesh", uses=("istio", "bookinfo"))

# The ingress gateway Service exposes port 80 and sends it to the pod's port 8080 (the pod runs without root, so
# it cannot bind 80). Istio accepts either number in a Gateway server and maps one to the other.
ACCEPTED_PORTS = (80, 8080)


def labels_text(labels):
    """{"istio": "ingressgateway"} -> 'istio: ingressgateway', as the learner writes it in YAML."""
    return ", ".join(f"{k}: {v}" for k, v in (labels or {}).items()) if isinstance(labels, dict) else str(labels)


def servers(gateway):
    return [s for s in gateway.spec.get("servers") or [] if isinstance(s, dict)]


@lab.check(points=0)
@either_api(gateway_api.gateway_exists)
def gateway_exists(config):
    """Gateway bookinfo-gateway exists"""
    require(config, "Gateway", "bookinfo-gateway")


@lab.check(points=2, requires=gateway_exists, hint="The ingress gateway's pods are labelled istio: ingressgateway.")
@either_api(gateway_api.selector_picks_ingress_gateway)
def selector_picks_ingress_gateway(config, target):
    """Its selector picks the ingress gateway pods"""
    gateway = config.get("Gateway", "bookinfo-gateway")
    selector = gateway.spec.get("selector") or {}
    if not selector:
        fail("The Gateway has no selector, so it is not attached to the ingress gateway the task asks for.",
             hint="Add selector: {istio: ingressgateway}.")
    pods = config.gateway_pods(gateway)
    if not pods:
        ingress = config.get("Deployment", "istio-ingressgateway", settings.SYSTEM_NAMESPACE)
        labels = ingress.spec["template"]["metadata"]["labels"] if ingress else {}
        fail(f"The selector ({labels_text(selector)}) matches no gateway pod, so no proxy serves this Gateway and "
             f"requests for {target.host} get nowhere (istioctl analyze: IST0101 ReferencedResourceNotFound, "
             f"selector). The ingress gateway pods carry the labels {labels_text(labels)}.")
    if not any(p.name == "istio-ingressgateway" for p in pods):
        fail(f"The selector ({labels_text(selector)}) picks {', '.join(str(p) for p in pods)}, not the ingress gateway.")
    return f"Selector ({labels_text(selector)}) picks the ingress gateway."


@lab.check(points=3, requires=gateway_exists)
@either_api(gateway_api.serves_bookinfo_app_only)
def serves_bookinfo_app_only(config, target):
    """One server accepts host {host}, and only that host"""
    gateway = config.get("Gateway", "bookinfo-gateway")
    matching = []
    for index, server in enumerate(servers(gateway)):
        for entry in server.get("hosts") or []:
            namespace, host = split_gateway_host(str(entry))
            if host == "*" or host.startswith("*."):
                fail(f"spec.servers[{index}] accepts host {entry!r}: every host name would be let in. The task "
                     f"exposes only {target.host}.", hint=f"Write hosts: [{target.host}].")
            if host.lower() == target.host:
                admitted = gateway.namespace if namespace == "." else namespace
                if admitted not in ("*", target.namespace):
                    fail(f"spec.servers[{index}] host {entry!r} only admits VirtualServices from namespace "
                         f"{admitted}; Bookinfo's VirtualService will live in {target.namespace}, so the gateway "
                         "would not use it.", hint=f"Write the host without a namespace prefix: {target.host}.")
                matching.append(index)
    if not matching:
        hosts = ", ".join(str(h) for s in servers(gateway) for h in s.get("hosts") or [])
        fail(f"No server of the Gateway accepts host {target.host} (hosts found: {hosts or 'none'}).",
             hint=f"Add hosts: [{target.host}] to the server.")
    return f"Server {matching[0] + 1} accepts {target.host}."


@lab.check(points=2, requires=gateway_exists, hint="port: {number: 8080, name: http, protocol: HTTP}")
@either_api(gateway_api.server_is_plain_http)
def server_is_plain_http(config, target):
    """That server speaks plain HTTP on port 8080 (or 80)"""
    gateway = config.get("Gateway", "bookinfo-gateway")
    candidates = [s for s in servers(gateway)
                  if any(split_gateway_host(str(h))[1].lower() == target.host for h in s.get("hosts") or [])]
    if not candidates:
        fail(f"No server accepts {target.host} yet, so there is no protocol to judge.")
    for server in candidates:
        port = server.get("port") if isinstance(server.get("port"), dict) else {}
        protocol = str(port.get("protocol") or "").upper()
        if protocol != "HTTP":
            extra = " HTTPS needs a certificate (tls:), which this lab does not set up." if protocol == "HTTPS" else ""
            written = f"protocol {port['protocol']}" if port.get("protocol") else "no protocol"
            fail(f"The server for {target.host} has {written}; the task asks for plain HTTP.{extra}")
        if port.get("number") not in ACCEPTED_PORTS:
            written = f"port {port['number']}" if port.get("number") is not None else "no port number"
            fail(f"The server has {written}; the ingress gateway receives HTTP on port 80 of "
                 "its Service, which is port 8080 of the pod. Use 8080 (or 80).")
        if isinstance(server.get("tls"), dict) and server["tls"].get("httpsRedirect"):
            # Istio marks the host's virtual host "require TLS": Envoy answers every plain request with a redirect
            # (istio/istio release-1.31 pilot/pkg/networking/core/gateway.go, buildGatewayHTTPRouteConfig).
            fail(f"The server for {target.host} sets tls.httpsRedirect: true, so the gateway answers every HTTP request "
                 "with a redirect to HTTPS instead of serving it, and this lab has no HTTPS server to go to.",
                 hint="Remove the tls: section from the HTTP server.")
    return "HTTP on port " + str(candidates[0]["port"]["number"]) + "."


# --- live: the ingress gateway listens -------------------------------------------------------------------------------
LISTENER_WAIT_S = 20  # istiod pushes a new Gateway to the ingress gateway within seconds


@lab.check(points=1, live=True, requires=[selector_picks_ingress_gateway, serves_bookinfo_app_only, server_is_plain_http])
def gateway_listens(probe, target):
    """A request for {host} through the ingress gateway reaches one of its listeners"""
    # Any HTTP answer means an Envoy listener took the request; before lab 03 no VirtualService gives bookinfo.app a
    # route, so 404 is the expected answer. A reset means the port mapping works but the gateway has no listener on
    # its port 8080. Note: labtools' own check route (Gateway labtools-smoke, istio-system) also opens that port, so
    # on a cluster made by `labtools up` this shows the path to the gateway works; whether your Gateway is right is
    # what the checks above judge from the object itself (Istio's gateway config has no trace of a Gateway's hosts
    # until a VirtualService binds to it).
    seen = watch(lambda: probe.ingress("/productpage")[0], until=lambda reply: reply.answered,
                 timeout=LISTENER_WAIT_S, describe=describe_reply)
    reply = seen.last
    where = f"{probe.ingress_url}/productpage (Host: {target.host})"
    if not seen:
        fail(f"{where}: {describe_reply(reply)} after {seen.elapsed_s:.0f} s of trying. The connection reaches the "
             "ingress gateway's port, but no listener takes it: no Gateway opens HTTP on the gateway pod's port 8080 "
             "(port 80 of its Service).", hint="Check that your Gateway is applied: kubectl get gateway -n "
             f"{target.namespace} bookinfo-gateway -o yaml")
    if reply.status == 404:
        return (f"The ingress gateway answered {where} with 404: it listens, and no route exists for "
                f"{target.host} yet. That is expected until lab 03 adds the VirtualService.")
    return f"The ingress gateway answered {where} with {describe_reply(reply)}."
