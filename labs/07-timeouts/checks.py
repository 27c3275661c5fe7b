"""Lab 07: a timeout on the route that serves /productpage, so a slow dependency cannot hold the page."""

from labtools.grading import Lab, fail
from labtools.grading.expect import require
from labtools.meshconfig import Request, format_duration, parse_duration

lab = Lab("07-timeouts", "Timeouts: failing fast", uses=("istio", "bookinfo"))

WANTED_SECONDS = 3.0


def productpage_decision(config, target):
    return config.route(Request(host=target.host, path="/productpage",
                                gateway=f"{target.namespace}/bookinfo-gateway", source_namespace=target.namespace))


@lab.check(points=1)
def virtual_service_exists(config):
    """VirtualService bookinfo exists and still routes /productpage"""
    require(config, "VirtualService", "bookinfo")


@lab.check(points=3, requires=virtual_service_exists,
           hint="timeout belongs to the http rule (next to match and route), not to a destination.")
def productpage_has_3s_timeout(config, target):
    """The route serving /productpage has a 3s timeout"""
    decision = productpage_decision(config, target)
    if not decision.matched:
        fail(f"/productpage through the gateway matches no rule ({decision.reason}); keep lab 03's routes.")
    raw = decision.rule.get("timeout")
    if raw is None:
        fail(f"/productpage meets {decision.rule_label}, which has no timeout. " + _timeouts_elsewhere(config, decision))
    try:
        seconds = parse_duration(raw)
    except ValueError as problem:
        fail(f"{decision.rule_label}: timeout {raw!r}: {problem}.")
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
