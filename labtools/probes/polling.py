"""Wait for the mesh to catch up, with a deadline instead of fixed sleeps, and remember what was last seen.

Configuration reaches the proxies a moment after `kubectl apply`; a live check looks again until what it sees
satisfies it or time runs out, and then says what it saw last:

    seen = poll(lambda: proxy.cluster(name), until=lambda c: c and c.lb_policy == "RANDOM", timeout=20,
                describe=lambda c: f"lb policy {c.lb_policy}" if c else "no such cluster")
    if not seen:
        fail(f"productpage's proxy never got the RANDOM policy: {seen.message}")
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Polled(Generic[T]):
    """The outcome of polling: whether `until` was satisfied, the last value seen and how long it took."""

    satisfied: bool
    last: T | None
    attempts: int
    elapsed_s: float
    seen: str  # the last value, described

    def __bool__(self) -> bool:
        return self.satisfied

    @property
    def message(self) -> str:
        """'after 20 s (14 tries) it last saw: ...' for a check's failure message."""
        tries = f"{self.attempts} tr{'y' if self.attempts == 1 else 'ies'}"
        return f"after {self.elapsed_s:.0f} s ({tries}) it last saw: {self.seen}"


def poll(
    observe: Callable[[], T],
    until: Callable[[T], bool] = bool,
    timeout: float = 30.0,
    interval: float = 1.0,
    describe: Callable[[T], str] = repr,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Polled[T]:
    """Call `observe` until `until(value)` holds or `timeout` seconds have passed; at least once.

    An exception from `observe` propagates at once: a ProbeError (no pod, a proxy that does not answer) is a broken
    environment, which waiting does not mend, and the check reports an error instead of failing the learner.
    """
    started = clock()
    deadline = started + timeout
    attempts = 0
    while True:
        attempts += 1
        last = observe()
        seen = describe(last)
        if until(last):
            return Polled(True, last, attempts, clock() - started, seen)
        remaining = deadline - clock()
        if remaining <= 0:
            return Polled(False, last, attempts, clock() - started, seen)
        sleep(min(interval, remaining))
