"""Lab 07: a timeout on the route that serves /productpage, so a slow dependency cannot hold the page."""

from labtools.grading import Lab, fail
from labtools.grading.catalog import companion
from labtools.grading.expect import describe_reply, require, watch
from labtools.grading.gateway_api import either_api, ingress_request
from labtools.meshconfig import format_duration, parse_duration

gateway_api = companion(__file__, "gateway_api.py")  # the same checks for an answer in the Kubernetes Gateway API

lab = Lab("07-timeouts", "Timeouts: failing fast", uses=("istio", "bookinfo"))

WANTED_SECONDS = gateway_api.WANTED_SECONDS  # the timeout the task asks for, in either API


def productpage_decision(config, target):
    return config.route(ingress_request(target, "/productpage", gateway_api=False))  # Istio's gateway


@lab.check(points=0)
@either_api(gateway_api.virtual_service_exists)
def virtual_service_exists(config):
    """VirtualService bookinfo exists and still routes /productpage"""
    require(config, "VirtualService", "bookinfo")


@lab.check(points=4, requires=virtual_service_exists,
           hint="timeout belongs to the http rule (next to match and route), not to a destination.")
@either_api(gateway_api.productpage_has_3s_timeout)
def productpage_has_3s_timeout(config, target):
    """The route serving /productpage has a 3s timeout"""
    decision = productpage_decision(config, target)
    if not decision.matched:
        fail(f"/productpage through the gateway matches no rule ({decision.reason}); keep lab 03's routes.")
    raw = decision.rule.get("timeout")
    if raw is None:
        fail(f"/productpage meets {decision.rule_label}, which has no timeout. " + _timeouts_elsewhere(config, decision)
             + decision.ignored_note())
    try:
        seconds = parse_duration(raw)
    except ValueError as problem:
        fail(f"{decision.rule_label}: timeout {raw}: {problem}.")
    if abs(seconds - WANTED_SECONDS) > 1e-9:
        fail(f"/productpage gets a timeout of {format_duration(seconds)}; the task asks for 3s (productpage's own "
             "retry to reviews would otherwise answer after about 6s).")
    return f"/productpage times out after {format_duration(seconds)} ({decision.rule_label})."


def _timeouts_elsewhere(config, decision):
    found = []
    for vs in config.submitted_of_kind("VirtualService"):
        for index, rule in enumerate(vs.spec.get("http") or []):
            if not isinstance(rule, dict):
                continue
            if rule.get("timeout") and not (vs is decision.virtual_service and index == decision.rule_index):
                found.append(f"rule {index + 1} of VirtualService {vs.name} has timeout {rule['timeout']}")
            for route in rule.get("route") or []:
                if isinstance(route, dict) and "timeout" in (route.get("destination") or {}):
                    found.append(f"VirtualService {vs.name} puts a timeout inside a destination")
    if found:
        return "Found instead: " + "; ".join(found) + ". Move the timeout to the rule that serves /productpage."
    return "Add timeout: 3s to that rule."


# --- live: how long /productpage takes through the gateway ------------------------------------------------------------
# The lab's setup slows every call to reviews by 5 s. productpage waits 3 s for reviews and tries once more
# (getProductReviews in samples/bookinfo/src/productpage/productpage.py), then renders the page without reviews:
# without a timeout of its own, /productpage answers 200 after about 6 s. With the 3 s timeout on the gateway's route,
# the gateway gives up first and answers 504 after about 3 s.
TIMEOUT_S = WANTED_SECONDS  # the cut the live check expects to measure (its tests run the mesh faster)
ACCEPTED_S = (2.5, 4.5)  # Envoy's timer is exact; the margin covers the trip from your machine to the gateway
UNTIMED_S = 6.0  # what /productpage takes without the timeout
REQUEST_LIMIT_S = 15.0  # how long the probe waits for one answer
PROPAGATION_S = 20  # each try takes 3 to 6 s: a route applied moments ago gets three or four chances


@lab.check(points=3, live=True, requires=productpage_has_3s_timeout)
def productpage_gives_up_after_3s(probe, target):
    """/productpage through the ingress answers 504 after about 3s (not 200 after about 6s)"""
    low, high = ACCEPTED_S
    seen = watch(lambda: probe.ingress("/productpage", timeout=REQUEST_LIMIT_S)[0],
                 until=lambda reply: reply.status == 504 and low <= reply.latency_s <= high,
                 timeout=PROPAGATION_S, describe=describe_reply)
    reply, where = seen.last, f"{probe.ingress_url}/productpage (Host: {target.host})"
    if seen:
        return f"{where} answered {describe_reply(reply)}: the gateway's {TIMEOUT_S:g}s timeout cut it short."
    answer = describe_reply(reply)
    if reply.status == 200 and reply.latency_s >= 0.75 * UNTIMED_S:
        fail(f"{where} answered {answer}: no timeout cut the request short. That is productpage's own behaviour: "
             f"it waits {UNTIMED_S / 2:g} s for the slowed reviews, tries once more and then shows the page without "
             f"reviews, about {UNTIMED_S:g} s in all. The timeout on the route has not reached the gateway.",
             hint="Is your VirtualService bookinfo applied? kubectl get virtualservice bookinfo -o yaml")
    if reply.status == 200:
        fail(f"{where} answered {answer}: reviews is not slowed down, so there is nothing for the timeout to cut. "
             "The lab's setup delays every call to reviews by 5 s (VirtualService reviews-delay).",
             hint="Run the lab's setup cell (`lab.apply_setup()`, or `labtools reset 07`) again: it restores "
                  "reviews-delay and removes any other VirtualService for reviews, such as lab 04's, that competes with "
                  "it. Then run your exercise cell (the setup puts back lab 03's VirtualService bookinfo, without the "
                  "timeout).")
    if reply.status == 504:
        fail(f"{where} answered {answer}: a timeout cut it, but not after about {TIMEOUT_S:g} s "
             f"(accepted: {low:g} to {high:g} s).")
    fail(f"{where} answered {answer}; expected 504 after about {TIMEOUT_S:g} s.")
