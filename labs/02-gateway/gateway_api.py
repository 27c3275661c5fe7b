"""Lab 02 answered with the Kubernetes Gateway API: a Gateway of class istio with one HTTP listener on port 80 for
bookinfo.app. Istio then deploys a proxy of its own for it (Deployment and Service bookinfo-gateway-istio), whose
port 80 `labtools up` makes reachable at 127.0.0.1:8081 (labtools/provision/gateway_api.py)."""

from labtools import settings
from labtools.grading import fail
from labtools.grading.gateway_api import INGRESS_GATEWAY, require_gateway, require_true_conditions
from labtools.meshconfig.gateway_api import GATEWAY

HTTP_PORT = 80  # the listener port whose Service port labtools maps to the host


def chosen(config):
    """Answered with the Gateway API: a Gateway API Gateway bookinfo-gateway, and no Istio one, was submitted."""
    names = {(r.qualified_kind, r.name) for r in config.submitted}
    return (GATEWAY, INGRESS_GATEWAY) in names and ("Gateway", INGRESS_GATEWAY) not in names


def listeners(gateway):
    return [(i, l) for i, l in enumerate(gateway.spec.get("listeners") or []) if isinstance(l, dict)]


def gateway_exists(config):
    require_gateway(config)
    return "Gateway bookinfo-gateway (gateway.networking.k8s.io) exists."


def selector_picks_ingress_gateway(config):
    gateway = require_gateway(config)
    wanted = settings.GATEWAY_API_CLASS
    found = gateway.spec.get("gatewayClassName")
    if found != wanted:
        fail(f"spec.gatewayClassName is {found!r}: no controller in this cluster serves that class, so no proxy is "
             f"deployed for the Gateway (Istio would report it Accepted: False). Istio's controller serves class {wanted}.",
             hint=f"gatewayClassName: {wanted}")
    require_true_conditions(config, gateway)  # live: Accepted and Programmed, as Istio reports them
    return (f"Class {wanted}: Istio deploys a proxy for this Gateway itself (Deployment and Service "
            f"{gateway.name}-{wanted}); with the Gateway API there is no selector to write.")


def serves_bookinfo_app_only(config, target):
    gateway = require_gateway(config)
    matching = []
    for index, listener in listeners(gateway):
        hostname = str(listener.get("hostname") or "")
        where = f"spec.listeners[{index}] ({listener.get('name')})"
        if not hostname:
            fail(f"{where} has no hostname, so it accepts requests for every host. The task exposes only {target.host}.",
                 hint=f"hostname: {target.host}")
        if hostname.startswith("*."):
            fail(f"{where} has hostname {hostname!r}: every host under it would be let in. The task exposes only "
                 f"{target.host}.", hint=f"hostname: {target.host}")
        if hostname.lower() == target.host:
            matching.append(index)
    if not matching:
        found = [str(l.get("hostname")) for _, l in listeners(gateway)]
        fail(f"No listener accepts host {target.host} (spec.listeners[*].hostname: {found or 'no listeners'}).",
             hint=f"Add a listener with hostname: {target.host}.")
    return f"Listener {matching[0] + 1} accepts {target.host} only."


def server_is_plain_http(config, target):
    gateway = require_gateway(config)
    candidates = [(i, l) for i, l in listeners(gateway) if str(l.get("hostname") or "").lower() == target.host]
    if not candidates:
        fail(f"No listener accepts {target.host} yet, so there is no protocol to judge.")
    for index, listener in candidates:
        if listener.get("protocol") != "HTTP":
            fail(f"spec.listeners[{index}].protocol is {listener.get('protocol')!r}; the task asks for plain HTTP "
                 "(HTTPS needs a certificate, which this lab does not set up).", hint="protocol: HTTP")
        if listener.get("port") != HTTP_PORT:
            fail(f"spec.listeners[{index}].port is {listener.get('port')}: Istio gives the gateway's Service that port, "
                 f"and labtools maps port {HTTP_PORT} of it to 127.0.0.1:{settings.GATEWAY_API_HTTP_PORT}. Use port "
                 f"{HTTP_PORT}.", hint=f"port: {HTTP_PORT}")
    return f"HTTP on port {HTTP_PORT} (reachable at {settings.GATEWAY_API_INGRESS_URL})."
