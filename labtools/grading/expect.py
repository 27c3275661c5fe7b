"""Helpers for writing checks whose failures say what was found, what was expected and what to do."""

from __future__ import annotations

import difflib

from labtools.grading.checks import fail
from labtools.meshconfig import MeshConfig, Resource


def require(config: MeshConfig, kind: str, name: str, namespace: str | None = None) -> Resource:
    """The object, or a failure that names what exists instead (a typo is the usual cause)."""
    namespace = namespace or config.namespace
    found = config.get(kind, name, namespace)
    misplaced = [r for r in config.submitted_of_kind(kind) if r.name == name and r.namespace != namespace]
    if found is not None and (found in config.submitted or not misplaced):
        return found
    if misplaced:
        fail(f"You wrote {misplaced[0]} in namespace {misplaced[0].namespace}, but it belongs in namespace {namespace}.",
             hint=f"Set metadata.namespace: {namespace}.")
    message = f"There is no {kind} named {name!r} in namespace {namespace}."
    same_kind = [r for r in config.of_kind(kind) if r in config.submitted]
    close = difflib.get_close_matches(name, [r.name for r in same_kind], n=1)
    if close:
        message += f" You wrote {kind} {close[0]!r}: a typo in metadata.name?"
    elif same_kind:
        message += f" You wrote: {', '.join(str(r) for r in same_kind)}."
    fail(message, hint=f"Set metadata.name: {name} (namespace {namespace}, or leave the namespace out).")
    raise AssertionError  # unreachable: fail raises


def require_in_force(config: MeshConfig, rule: Resource, host: str, client_namespace: str, proxy: str):
    """The DestinationRule policy that `proxy` (the calling sidecar, in words) applies to `host`; fails unless
    `rule` is part of it and, where `rule` has a trafficPolicy, is the one whose trafficPolicy counts (of competing
    DestinationRules the first one applied wins: meshconfig.destinations)."""
    policy = config.destination_policy(host, client_namespace=client_namespace)
    if policy is None or rule not in policy.rules:
        used = ", ".join(str(r) for r in policy.rules) if policy else "none"
        fail(f"{proxy} does not apply {rule} to {host} (it applies: {used}). "
             + " ".join(policy.dropped if policy else []))
    if rule.spec.get("trafficPolicy") is not None and policy.policy_from is not rule:
        fail(f"Istio ignores the trafficPolicy of {rule}: {policy.policy_from} also names host {host}, was applied "
             "first and has a trafficPolicy of its own; of competing DestinationRules only the first one's counts. "
             f"Keep one DestinationRule for {host}.")
    return policy


def percent(share: float) -> str:
    value = share * 100
    return f"{value:.0f}%" if abs(value - round(value)) < 0.05 else f"{value:.1f}%"


def describe_shares(shares: dict[str | None, float] | dict[str, float]) -> str:
    """ {"v1": 0.8, None: 0.2} -> "v1 80%, nowhere (503) 20%" """
    parts = [f"{key if key is not None else 'nowhere (503)'} {percent(value)}" for key, value in
             sorted(shares.items(), key=lambda kv: (kv[0] is None, str(kv[0]))) if value > 1e-9]
    return ", ".join(parts) or "nowhere"


def shares_equal(actual: dict[str | None, float], expected: dict[str, float], tolerance: float = 1e-6) -> bool:
    keys = set(actual) | set(expected)
    return all(abs(actual.get(k, 0.0) - expected.get(k, 0.0)) <= tolerance for k in keys)


def undefined_subsets_message(missing) -> str:
    """One sentence per (VirtualService, host) listing the subsets it names that no DestinationRule defines."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for reference in missing:
        grouped.setdefault((str(reference.source), reference.host), []).append(
            f"{reference.subset!r} ({reference.path})")
    sentences = [
        f"{source} routes to subset{'s' if len(subsets) > 1 else ''} {', '.join(subsets)}, "
        f"but no DestinationRule for {host} defines {'them' if len(subsets) > 1 else 'it'}."
        for (source, host), subsets in grouped.items()
    ]
    return " ".join(sentences) + " In a real mesh these requests fail with HTTP 503: Envoy has no cluster for the subset."


# --- live checks ---------------------------------------------------------------------------------------------------
# Probes are imported inside the functions: loading a lab's checks must stay light (`labtools --help`, offline runs).

def watch(observe, until=bool, timeout: float = 30.0, interval: float = 1.0, describe=repr):
    """labtools.probes.poll for checks (imported when called, so loading a lab's checks stays light): look at the
    mesh until `until(value)` holds or `timeout` seconds have passed, for what a learner's change reaches only after
    a few seconds. A ProbeError propagates at once: the check reports a broken environment, it does not wait it out."""
    from labtools.probes.polling import poll

    return poll(observe, until, timeout=timeout, interval=interval, describe=describe)


def describe_reply(reply) -> str:
    """'200 after 0.12 s', '504 after 3.01 s' or 'connection reset (...)' for one probe Reply."""
    from labtools.probes.replies import format_seconds

    if reply.answered:
        return f"{reply.status} after {format_seconds(reply.latency_s)}"
    return reply.outcome + (f" ({reply.detail})" if reply.detail else "")


def binomial_acceptance(n: int, p: float, false_fail: float) -> tuple[int, int]:
    """The counts [low, high] that Binomial(n, p) falls outside with probability at most `false_fail`.

    Exact binomial sums (no normal approximation), `false_fail / 2` for each tail: a count of successes in n
    trials with true rate p lands in the interval with probability >= 1 - false_fail.
    """
    from math import comb

    if not (n >= 1 and 0 <= p <= 1 and 0 < false_fail < 1):
        raise ValueError(f"binomial_acceptance needs n >= 1, 0 <= p <= 1, 0 < false_fail < 1; got {n}, {p}, {false_fail}")
    pmf = [comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)]
    low, tail = 0, 0.0
    while low < n and tail + pmf[low] <= false_fail / 2:
        tail += pmf[low]
        low += 1
    high, tail = n, 0.0
    while high > low and tail + pmf[high] <= false_fail / 2:
        tail += pmf[high]
        high -= 1
    return low, high


def mesh_client(probe, selector: str = "app=curl", namespace: str | None = None):
    """The client pod a live check sends requests from, which must have a sidecar: without one, the mesh's routing,
    faults and retries do not apply to its requests, and the check would judge the wrong thing."""
    from labtools.probes.replies import ProbeError

    client = probe.client(selector, namespace)
    if not client.has_sidecar:
        where = f"{client.namespace}/{client.name}"
        raise ProbeError(
            f"The client pod {where} has no istio-proxy sidecar, so its requests bypass the mesh.",
            hint=f"It started before sidecar injection was on: kubectl rollout restart deployment -n {client.namespace} "
                 f"-l {selector}",
        )
    return client
