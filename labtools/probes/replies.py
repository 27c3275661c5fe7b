"""What a probe saw: one Reply per request, and Replies to count and summarize them."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Iterator, Sequence

from labtools.errors import EnvironmentBroken
from labtools.probes.bookinfo import reviews_version

MAX_BODY_CHARS = 64 * 1024

# Short names for requests that got no HTTP answer (Reply.error).
TIMEOUT = "timeout"
REFUSED = "connection refused"
RESET = "connection reset"
UNRESOLVED = "name not resolved"
FAILED = "failed"


class ProbeError(EnvironmentBroken):
    """A probe could not run: no pod to exec into, a proxy that does not answer, a tool missing in a pod."""


@dataclass(frozen=True)
class Reply:
    """One request: its HTTP status (None when no answer came), how long it took and what came back.

    `index` is the order in which the request was sent. `error` names why there is no status (TIMEOUT, REFUSED...),
    `detail` says more. `latency_s` is the time to the full answer (or to the failure).
    """

    index: int
    status: int | None
    latency_s: float
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict, compare=False)
    error: str = ""
    detail: str = ""

    @property
    def answered(self) -> bool:
        return self.status is not None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 400

    @property
    def outcome(self) -> str:
        """The status as text ("200") or the error ("timeout"): what a learner sees in a summary."""
        return str(self.status) if self.status is not None else (self.error or FAILED)

    @cached_property
    def version(self) -> str | None:
        """The Bookinfo reviews version that answered ('v1', 'v2', 'v3'), when the body is the reviews JSON."""
        return reviews_version(self.body) if self.ok and self.body else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least q% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


class Replies(Sequence[Reply]):
    """The replies of a batch of requests, in the order they were sent."""

    def __init__(self, replies: Iterable[Reply] = ()):
        self._items = sorted(replies, key=lambda reply: reply.index)

    def __getitem__(self, index):  # type: ignore[override]
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Reply]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"Replies({self.describe()})"

    # --- counting ----------------------------------------------------------------------------------------------
    def statuses(self) -> Counter[int]:
        """HTTP status -> count, for the requests that got an answer."""
        return Counter(r.status for r in self._items if r.status is not None)

    def errors(self) -> Counter[str]:
        """Error name -> count, for the requests that got no HTTP answer."""
        return Counter(r.outcome for r in self._items if r.status is None)

    def outcomes(self) -> Counter[str]:
        """Status or error -> count: {"200": 18, "503": 1, "timeout": 1}."""
        return Counter(r.outcome for r in self._items)

    def with_status(self, status: int) -> int:
        """How many requests were answered with `status`."""
        return sum(1 for r in self._items if r.status == status)

    def versions(self) -> Counter[str]:
        """Reviews version -> count, for the answers that carried the reviews JSON."""
        return Counter(r.version for r in self._items if r.version is not None)

    def latencies(self) -> list[float]:
        """Seconds to the answer, for the requests that got one."""
        return [r.latency_s for r in self._items if r.status is not None]

    def latency(self, q: float) -> float | None:
        """The q-th percentile of the latency in seconds (nearest rank), None without answers."""
        return percentile(self.latencies(), q)

    def slower_than(self, seconds: float) -> int:
        """How many answered requests took at least `seconds`."""
        return sum(1 for latency in self.latencies() if latency >= seconds)

    # --- summaries ---------------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The shape `labtools traffic --format json` prints."""
        def ms(seconds: float | None) -> float | None:
            return None if seconds is None else round(seconds * 1000, 1)

        latencies = self.latencies()
        return {
            "requests": len(self),
            "status": {str(status): count for status, count in sorted(self.statuses().items())},
            "errors": dict(sorted(self.errors().items())),
            "versions": {f"reviews-{version}": count for version, count in sorted(self.versions().items())},
            "latency_ms": {
                "p50": ms(percentile(latencies, 50)),
                "p90": ms(percentile(latencies, 90)),
                "max": ms(max(latencies) if latencies else None),
            },
        }

    def describe(self) -> str:
        """One line for a check's message: '20 requests: 200 x18, 503 x2; latency p50 12 ms, max 3.0 s'."""
        if not self._items:
            return "no requests"
        outcomes = ", ".join(f"{outcome} x{count}" for outcome, count in self.outcomes().most_common())
        text = f"{len(self)} request{'s' if len(self) != 1 else ''}: {outcomes}"
        versions = self.versions()
        if versions:
            text += "; versions " + ", ".join(f"{v} x{c}" for v, c in sorted(versions.items()))
        latencies = self.latencies()
        if latencies:
            text += f"; latency p50 {format_seconds(percentile(latencies, 50) or 0.0)}, max {format_seconds(max(latencies))}"
        return text


def format_seconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"
