"""Lab 04: split reviews traffic by header and by weight, with subsets from a DestinationRule."""

from labtools.grading import Lab, fail
from labtools.grading.catalog import companion
from labtools.grading.gateway_api import either_api, weights_note
from labtools.grading.expect import (
    describe_shares, mesh_client, require, shares_equal, undefined_subsets_message, watch,
)
from labtools.meshconfig import Request, fqdn, unreachable_rules

# curl: the live checks send their requests to reviews from Istio's curl sample pod, inside the mesh.
# bookinfo-versions: Bookinfo's per-version Services, which a Gateway API answer splits between.
lab = Lab("04-traffic-split", "Traffic splitting: canary and A/B routing",
          uses=("istio", "bookinfo", "bookinfo-versions", "curl"))
gateway_api = companion(__file__, "gateway_api.py")  # the same checks for an answer in the Kubernetes Gateway API

JASON = {"end-user": "jason"}
# Near misses that an exact match must not catch: case, prefix, suffix.
NOT_JASON = [{}, {"end-user": "Jason"}, {"end-user": "jason2"}, {"end-user": "ajason"}, {"end-user": "alice"}]
EXPECTED_SPLIT = {"v1": 0.8, "v3": 0.2}


def reviews_request(config, headers):
    return Request(host="reviews", headers=headers, source_namespace=config.namespace)


@lab.check(points=1, hint="Subsets live in a DestinationRule: spec.subsets[].name and .labels.")
@either_api(gateway_api.destination_rule_defines_subsets)
def destination_rule_defines_subsets(config):
    """DestinationRule reviews-destination has subsets v1, v2, v3 for the reviews versions"""
    rule = require(config, "DestinationRule", "reviews-destination")
    host = fqdn(str(rule.spec.get("host", "")), rule.namespace)
    reviews = fqdn("reviews", config.namespace)
    if host != reviews:
        written = f"for host {rule.spec['host']} ({host})" if rule.spec.get("host") else "for no host (spec.host is missing)"
        fail(f"DestinationRule reviews-destination is {written}; its subsets only apply to that host. "
             f"Expected host: reviews ({reviews}).")
    policy = config.destination_policy("reviews")
    if policy is not None and rule not in policy.rules:
        fail(f"Sidecars in {config.namespace} do not use DestinationRule reviews-destination for reviews: they use "
             f"{', '.join(str(r) for r in policy.rules)}. " + " ".join(policy.dropped))
    problems = []
    for version in ("v1", "v2", "v3"):
        found = config.subset("reviews", version, config.namespace)
        if found is None:
            problems.append(f"subset {version} is missing")
            continue
        names = sorted(w.name for w in config.endpoints("reviews", version))
        if names != [f"reviews-{version}"]:
            labels = found[1].get("labels") if isinstance(found[1].get("labels"), dict) else {}
            shown = ", ".join(f"{k}: {v if isinstance(v, str) else '(not a string)'}" for k, v in labels.items()) or "none"
            selected = ", ".join(names) if names else "no reviews pods"
            problems.append(f"subset {version} has labels ({shown}), which select {selected}; "
                            f"the reviews {version} pods carry version: {version}")
    if problems:
        dropped = "".join(f" Note: {d}." for d in (policy.dropped if policy else [])
                          + config.hidden_destination_rules("reviews"))
        fail("In DestinationRule reviews-destination: " + "; ".join(problems) + "." + dropped)
    return "Subsets v1, v2 and v3 each select exactly one reviews version."


@lab.check(points=0, hint="Every subset a VirtualService names must be defined in a DestinationRule for the same host.")
@either_api(gateway_api.every_subset_exists)
def every_subset_exists(config):
    """Every subset the routes name is defined"""
    references = config.subset_references(host="reviews")
    if not references:
        fail("No VirtualService route names a reviews subset yet; the task routes by subsets v1, v2 and v3.")
    missing = [r for r in references if not config.subset_defined(r)]
    if missing:
        hidden = "".join(f" Note: {why}." for why in config.hidden_destination_rules("reviews"))
        fail(undefined_subsets_message(missing) + " (istioctl analyze: IST0101 ReferencedResourceNotFound, "
             "host+subset in destinationrule)" + hidden,
             hint="Add the subset to DestinationRule reviews-destination, or fix the subset name in the route.")


@lab.check(points=3, requires=every_subset_exists)
def jason_reaches_v2(config):
    """Requests with end-user: jason all reach reviews v2"""
    decision = config.route(reviews_request(config, JASON))
    if not decision.matched:
        fail(f"Requests to reviews from jason match no VirtualService rule ({decision.reason}).",
             hint="Write VirtualService reviews for host reviews with a rule matching headers end-user exact jason.")
    shares = config.shares_by_label(decision)
    if not shares_equal(shares, {"v2": 1.0}):
        fail(f"jason's requests meet {decision.rule_label} and go to {describe_shares(shares)}; "
             f"expected all of them on v2. " + _why_jason_missed(config, decision) + decision.ignored_note(),
             hint="Put the rule that matches end-user: jason first: the first matching rule wins.")
    for headers in NOT_JASON:
        other = config.route(reviews_request(config, headers))
        if other.matched and other.rule_index == decision.rule_index and other.virtual_service is decision.virtual_service:
            who = f"end-user: {headers['end-user']}" if headers else "no end-user header"
            fail(f"The jason rule ({decision.rule_label}) also catches requests with {who}. "
                 "The task asks for the header to be exactly jason.",
                 hint="Use headers: {end-user: {exact: jason}} rather than prefix or a loose regex.")
    return "jason's requests all reach reviews v2."


@lab.check(points=3, requires=every_subset_exists, hint="Weights are relative: 80 and 20 send 80% and 20%.")
def others_split_80_20(config):
    """Everyone else: 80% to v1, 20% to v3"""
    for headers in NOT_JASON:
        decision = config.route(reviews_request(config, headers))
        who = f"end-user: {headers['end-user']}" if headers else "no end-user header"
        if not decision.matched:
            fail(f"Requests with {who} match no rule ({decision.reason}); they would go to all reviews versions "
                 "in turn. Add a last rule without match that splits v1 80 / v3 20.")
        shares = config.shares_by_label(decision)
        if not shares_equal(shares, EXPECTED_SPLIT):
            fail(f"Requests with {who} meet {decision.rule_label} and go to {describe_shares(shares)}; "
                 f"expected {describe_shares(EXPECTED_SPLIT)}.{weights_note(decision)}" + decision.ignored_note())
    return "Requests without end-user: jason split v1 80%, v3 20%."


def _why_jason_missed(config, decision):
    """Explain the two classic causes: a jason rule below a catch-all, or no jason rule at all."""
    for vs in config.of_kind("VirtualService"):
        for rule_index, catch_all in unreachable_rules(vs):
            rule = vs.spec["http"][rule_index]
            if "end-user" in str(rule.get("match")):
                return (f"VirtualService {vs.name} has a jason rule (rule {rule_index + 1}), but rule {catch_all + 1} "
                        "before it has no match and catches every request, so the jason rule is never reached "
                        "(istioctl analyze: IST0130 VirtualServiceUnreachableRule).")
    if "end-user" not in str([vs.spec.get("http") for vs in config.of_kind("VirtualService")]):
        return "No rule matches on the end-user header."
    return ""


# --- live: the split as the mesh applies it ---------------------------------------------------------------------------
# The requests go to http://reviews:9080/reviews/0 from the curl pod (via="client"), whose sidecar applies the
# VirtualService exactly as productpage's does. Sent from the client, "jason's requests" are simply requests with the
# header end-user: jason. Through the ingress instead, productpage would stand in between: it drops an end-user header
# sent from outside (it sets its own from a login session, so jason would need a login cookie), retries reviews once
# on errors, and needs lab 03's routes; none of that is what this lab grades.
SPLIT = {"v1": 80, "v3": 20}
# The sequential test's promises (labtools/probes/sequential.py): a correct 80/20 fails at most 1% of the time, a
# split 10 points off passes at most 1% of the time; it needs about 220 requests on average, never more than 800.
SPLIT_FALSE_FAIL = 0.01
SPLIT_FALSE_PASS = 0.01
PROPAGATION_S = 20
# The split tests may need hundreds of requests (10 at a time): they only start when reviews answers quickly.
WARMUP_REQUESTS = 5
SLOW_REVIEWS_S = 0.5


def _wait_for_subset_routes(probe, target):
    """Give a just-applied VirtualService time to reach the client's proxy: wait (up to PROPAGATION_S) until its
    routes for reviews name subset clusters (outbound|9080|v1|reviews...). Judging starts either way."""
    proxy = probe.envoy(pod=mesh_client(probe).name)
    host = fqdn("reviews", target.namespace)
    watch(lambda: proxy.routes(host=host), until=_names_a_subset, timeout=PROPAGATION_S,
          describe=lambda routes: f"{len(routes)} route(s)")


def _require_quick_reviews(probe):
    warmup = probe.reviews(n=WARMUP_REQUESTS, via="client")
    median = warmup.latency(50)
    if median is not None and median > SLOW_REVIEWS_S:
        fail(f"reviews answers slowly ({warmup.describe()}): the split test needs up to hundreds of requests and "
             "would take minutes. Is a delay still injected into reviews, such as VirtualService reviews-delay of "
             "lab 07?", hint="kubectl get virtualservices shows what applies; two VirtualServices for reviews "
                             "conflict (Istio uses only one of them).")


def _names_a_subset(routes):
    """Whether a route sends to a subset cluster: Istio names them outbound|<port>|<subset>|<host>; for a Gateway API
    answer, to a per-version Service (outbound|9080||reviews-v1.<namespace>.svc.cluster.local)."""
    return any(len(parts) == 4 and (parts[2] or parts[3].startswith("reviews-v"))
               for route in routes for parts in (n.split("|") for n in route.clusters))


@lab.check(points=3, live=True, requires=others_split_80_20)
def traffic_splits_80_20(probe, target):
    """Sampled traffic to reviews splits 80% v1, 20% v3 (within a sound statistical bound)"""
    _wait_for_subset_routes(probe, target)
    _require_quick_reviews(probe)
    decision = probe.weighted_split(SPLIT, via="client", false_fail=SPLIT_FALSE_FAIL, false_pass=SPLIT_FALSE_PASS)
    if decision.passed is None:
        fail(decision.message, hint="Requests to reviews fail: does every subset your routes name exist?")
    if not decision.passed:
        fail(decision.message + " (Requests from the curl pod to reviews:9080, judged in the order they were sent by "
             "a sequential test.)", hint="Weights are relative: 80 and 20 on subsets v1 and v3.")
    return decision.message


@lab.check(points=2, live=True, requires=jason_reaches_v2)
def jason_always_reaches_v2(probe, target):
    """Sampled traffic with end-user: jason all reaches reviews v2"""
    _wait_for_subset_routes(probe, target)
    _require_quick_reviews(probe)
    decision = probe.weighted_split({"v2": 100}, via="client", headers=JASON, false_pass=SPLIT_FALSE_PASS)
    if not decision.passed:
        fail(f"With header end-user: jason: {decision.message}",
             hint="The rule matching end-user: jason must come first and route to subset v2.")
    return (f"All {decision.observed} requests with end-user: jason reached v2 (a route sending 10% of them elsewhere "
            f"would have been caught with {100 * (1 - SPLIT_FALSE_PASS):g}% certainty).")
