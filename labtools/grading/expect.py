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


def percent(share: float) -> str:
    value = share * 100
    return f"{value:.0f}%" if abs(value - round(value)) < 0.05 else f"{value:.1f}%"


def describe_shares(shares: dict[str | None, float]) -> str:
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
