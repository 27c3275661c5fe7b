"""Istio's validation webhook rules: for each rule a submission it passes, one it refuses, and the message."""

from __future__ import annotations

import pytest

from labtools.meshconfig import parse_resources
from labtools.meshconfig.webhook import RULES, webhook_problems
from tests.conftest import HAVE_CRDS

VS = """apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
"""
DR = """apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: httpbin}
spec:
  host: httpbin
"""
GW = """apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bookinfo-gateway}
spec:
  selector: {istio: ingressgateway}
"""
AP = """apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: policy}
spec:
"""
SE = """apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: external}
spec:
  hosts: [api.example.com]
  ports: [{number: 443, name: https, protocol: TLS}]
  resolution: DNS
"""
ROUTE = "    route: [{destination: {host: reviews}}]\n"
HTTP = "  http:\n  - route: [{destination: {host: reviews}}]\n"

# rule id -> (accepted text, refused text, fragment of the message)
CASES: dict[str, tuple[str, str, str]] = {
    "vs-retry-on": (
        VS + "  hosts: [reviews]\n  http:\n  - retries: {attempts: 3, retryOn: '5xx,503,connect-failure'}\n" + ROUTE,
        VS + "  hosts: [reviews]\n  http:\n  - retries: {attempts: 3, retryOn: '5xx,server-error'}\n" + ROUTE,
        "'server-error' is not a retry policy Envoy knows",
    ),
    "vs-retry-attempts": (
        VS + "  hosts: [reviews]\n  http:\n  - retries: {attempts: 2, perTryTimeout: 1s}\n" + ROUTE,
        VS + "  hosts: [reviews]\n  http:\n  - retries: {retryOn: 5xx}\n" + ROUTE,
        "attempts is 0 (or missing",
    ),
    "vs-header-name": (
        VS + "  hosts: [reviews]\n  http:\n  - match: [{headers: {end-user: {exact: jason}}}]\n" + ROUTE,
        VS + "  hosts: [reviews]\n  http:\n  - match: [{headers: {'end user': {exact: jason}}}]\n" + ROUTE,
        "'end user' is not a valid header name",
    ),
    "vs-weight": (
        VS + "  hosts: [reviews]\n  http:\n  - route:\n    - {destination: {host: reviews, subset: v1}, weight: 0}\n"
             "    - {destination: {host: reviews, subset: v3}, weight: 20}\n",
        VS + "  hosts: [reviews]\n  http:\n  - route:\n    - {destination: {host: reviews, subset: v1}, weight: -80}\n"
             "    - {destination: {host: reviews, subset: v3}, weight: 20}\n",
        "weight -80 is negative",
    ),
    "vs-subset-name": (
        VS + "  hosts: [reviews]\n  http:\n  - route: [{destination: {host: reviews, subset: v1}}]\n",
        VS + "  hosts: [reviews]\n  http:\n  - route: [{destination: {host: reviews, subset: V1}}]\n",
        "subset name 'V1' is invalid",
    ),
    "vs-route-required": (
        VS + "  hosts: [reviews]\n  http:\n  - redirect: {uri: /other}\n",
        VS + "  hosts: [reviews]\n  http:\n  - timeout: 1s\n",
        "needs route",
    ),
    "vs-fault-empty": (
        VS + "  hosts: [reviews]\n  http:\n  - fault: {delay: {fixedDelay: 7s, percentage: {value: 100}}}\n" + ROUTE,
        VS + "  hosts: [reviews]\n  http:\n  - fault: {}\n" + ROUTE,
        "a fault needs an abort, a delay, or both",
    ),
    "vs-fault-percentage": (
        VS + "  hosts: [reviews]\n  http:\n  - fault: {abort: {httpStatus: 500, percentage: {value: 0.5}}}\n" + ROUTE,
        VS + "  hosts: [reviews]\n  http:\n  - fault: {abort: {httpStatus: 500, percentage: {value: 150}}}\n" + ROUTE,
        "150 is not a percentage Istio accepts",
    ),
    "vs-abort-status": (
        VS + "  hosts: [reviews]\n  http:\n  - fault: {abort: {httpStatus: 503, percentage: {value: 10}}}\n" + ROUTE,
        VS + "  hosts: [reviews]\n  http:\n  - fault: {abort: {httpStatus: 1000, percentage: {value: 10}}}\n" + ROUTE,
        "HTTP status 1000 is not in range 200-599",
    ),
    "vs-abort-type": (
        VS + "  hosts: [reviews]\n  http:\n  - fault: {abort: {httpStatus: 503}}\n" + ROUTE,
        VS + "  hosts: [reviews]\n  http:\n  - fault: {abort: {percentage: {value: 10}}}\n" + ROUTE,
        "no error to answer with",
    ),
    "vs-delay-percent-deprecated": (
        VS + "  hosts: [reviews]\n  http:\n  - fault: {delay: {fixedDelay: 2s, percentage: {value: 100}}}\n" + ROUTE,
        VS + "  hosts: [reviews]\n  http:\n  - fault: {delay: {fixedDelay: 2s, percent: 100}}\n" + ROUTE,
        "percent is deprecated (Istio still honours it: 100% of requests); write percentage: {value: 100}",
    ),
    "vs-duration-precision": (
        VS + "  hosts: [reviews]\n  http:\n  - timeout: 0.5s\n" + ROUTE,
        VS + "  hosts: [reviews]\n  http:\n  - timeout: 1500us\n" + ROUTE,
        "finer than a millisecond",
    ),
    "vs-gateway-names": (
        VS + "  hosts: [bookinfo.app]\n  gateways: [istio-system/bookinfo-gateway, ./other]\n" + HTTP,
        VS + "  hosts: [bookinfo.app]\n  gateways: [Default/bookinfo-gateway]\n" + HTTP,
        "'Default' is not a valid namespace",
    ),
    "vs-gateway-legacy-name": (
        VS + "  hosts: [bookinfo.app]\n  gateways: [default/bookinfo-gateway]\n" + HTTP,
        VS + "  hosts: [bookinfo.app]\n  gateways: [bookinfo-gateway.default.svc.cluster.local]\n" + HTTP,
        "prefer default/bookinfo-gateway",
    ),
    "vs-mesh-wildcard-host": (
        VS + "  hosts: ['*']\n  gateways: [bookinfo-gateway]\n" + HTTP,
        VS + "  hosts: ['*']\n" + HTTP,
        "host * is not allowed for a VirtualService bound to the mesh",
    ),
    "vs-duplicate-hosts": (
        VS + "  hosts: [reviews, ratings]\n" + HTTP,
        VS + "  hosts: [reviews.example.com, '*.example.com']\n  gateways: [gw]\n" + HTTP,
        "duplicate hosts",
    ),
    "export-to": (
        VS + "  hosts: [reviews]\n  exportTo: [., istio-system]\n" + HTTP,
        VS + "  hosts: [reviews]\n  exportTo: ['*', istio-system]\n" + HTTP,
        "* already exports to every namespace",
    ),
    "dr-subsets": (
        DR + "  subsets:\n  - {name: v1, labels: {version: v1}}\n  - {name: v2, labels: {version: v2}}\n",
        DR + "  subsets:\n  - {name: v1, labels: {version: v1}}\n  - {name: v1, labels: {version: v2}}\n",
        "duplicate subset name 'v1'",
    ),
    "dr-outlier-detection": (
        DR + "  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: 1, interval: 1s, maxEjectionPercent: 100}\n",
        DR + "  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: 1, interval: 1s, maxEjectionPercent: 150}\n",
        "150 is not a percentage in range 0..100",
    ),
    "dr-outlier-deprecated": (
        DR + "  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: 1}\n",
        DR + "  trafficPolicy:\n    outlierDetection: {consecutiveErrors: 1}\n",
        "consecutiveErrors is deprecated",
    ),
    "dr-connection-pool": (
        DR + "  trafficPolicy:\n    connectionPool: {tcp: {maxConnections: 1}}\n",
        DR + "  trafficPolicy:\n    connectionPool: {tcp: {maxConnections: -1}}\n",
        "-1 is negative",
    ),
    "gw-name": (
        GW + "  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: [bookinfo.app]}]\n",
        GW.replace("bookinfo-gateway", "bookinfo.gateway")
        + "  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: [bookinfo.app]}]\n",
        "may not contain dots",
    ),
    "gw-servers": (
        GW + "  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: [bookinfo.app]}]\n",
        GW + "  servers:\n  - {port: {number: 8080, name: http, protocol: HTTP}, hosts: [bookinfo.app]}\n"
             "  - {port: {number: 8443, name: http, protocol: HTTPS}, hosts: [bookinfo.app]}\n",
        "port names in servers must be unique: 'http' is used twice",
    ),
    "gw-server-hosts": (
        GW + "  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: [./bookinfo.app, '*/x.example.com']}]\n",
        GW + "  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: [bookinfo]}]\n",
        "short names are not allowed in a Gateway",
    ),
    "gw-https-redirect": (
        GW + "  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: [bookinfo.app], tls: {httpsRedirect: true}}]\n",
        GW + "  servers: [{port: {number: 8443, name: tls, protocol: TLS}, hosts: [bookinfo.app],"
             " tls: {httpsRedirect: true, mode: PASSTHROUGH}}]\n",
        "httpsRedirect should only be used with HTTP servers",
    ),
    "ap-action": (
        AP + "  action: DENY\n  rules: [{}]\n",
        AP + "  action: DENY\n",
        "DENY without rules is meaningless",
    ),
    "ap-rules": (
        AP + "  rules:\n  - from: [{source: {principals: [cluster.local/ns/default/sa/curl]}}]\n",
        AP + "  rules:\n  - from: [{source: {}}]\n",
        "from.source must not be empty",
    ),
}


def findings(text: str) -> tuple[list[str], list[str]]:
    (resource,) = parse_resources(text, "t.yaml")
    errors, warnings = webhook_problems(resource)
    return [str(p) for p in errors], [str(p) for p in warnings]


def test_every_rule_has_a_case_and_names_its_source():
    assert sorted(CASES) == sorted(rule.id for rule in RULES)
    for rule in RULES:
        assert rule.source.startswith(("istio/istio release-1.31 ", "istio/api ")), rule
        assert ": " in rule.source, f"{rule.id}: the source names a function after the file"


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_passes_the_good_submission_and_refuses_the_bad(rule_id):
    good, bad, fragment = CASES[rule_id]
    rule = next(r for r in RULES if r.id == rule_id)
    assert findings(good) == ([], []), f"{rule_id} should accept the good submission"
    errors, warnings = findings(bad)
    found = errors if rule.level == "error" else warnings
    assert any(fragment in text for text in found), (rule_id, errors, warnings)
    code = "IST0106" if rule.level == "error" else "IST0133"
    assert all(f"istioctl analyze: {code}" in text for text in found)
    assert all(" line " in text and "t.yaml" in text for text in found), "object, file, line and field path"


@pytest.mark.skipif(not HAVE_CRDS, reason="Istio's CRD file is not available: cannot show the schema accepts these")
@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_the_schema_lets_the_refused_submission_through(rule_id):
    """What these rules catch gets past Istio 1.31's CRD schemas: only the webhook refuses it."""
    from labtools.files.schemas import load_schema_set

    schemas = load_schema_set()
    for text in CASES[rule_id][:2]:
        (resource,) = parse_resources(text, "t.yaml")
        assert schemas.validate(resource) == [], (rule_id, [str(p) for p in schemas.validate(resource)])


def test_wrong_types_do_not_crash_the_rules():
    text = VS + "  hosts: reviews\n  http:\n  - retries: 3\n    fault: [1]\n    match: {headers: 1}\n    route: 2\n"
    findings(text)  # the schema reports the types; the webhook rules must simply not trip over them


def test_the_lab_specification_lists_every_rule():
    from pathlib import Path

    spec = (Path(__file__).resolve().parents[2] / "docs" / "LABS.md").read_text()
    for rule in RULES:
        assert f"| `{rule.id}` |" in spec, f"docs/LABS.md does not list webhook rule {rule.id}"
