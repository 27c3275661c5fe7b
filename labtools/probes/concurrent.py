"""Send work out concurrently, hand results back in the order it was sent."""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Generator, TypeVar

T = TypeVar("T")

# How many units may wait in the queue per worker: enough to keep every worker busy while the oldest unit is slow.
LOOKAHEAD_PER_WORKER = 4


def in_order(work: Callable[[int], list[T]], units: int, concurrency: int) -> Generator[T, None, None]:
    """Run work(0), work(1), ... work(units - 1) on `concurrency` threads and yield their items in unit order.

    Results come back in the order the work was *sent*, whatever order it finished in: a statistical test that
    stops early must not favour the answers that happen to be fast. A consumer that stops early (closes the
    generator) cancels the units still queued; at most `concurrency` units in flight run to their end.
    """
    concurrency = max(1, min(concurrency, units)) if units > 0 else 1
    lookahead = concurrency * LOOKAHEAD_PER_WORKER
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="labtools-probe") as pool:
        pending: deque[Future[list[T]]] = deque()
        submitted = 0
        try:
            while pending or submitted < units:
                while submitted < units and len(pending) < lookahead:
                    pending.append(pool.submit(work, submitted))
                    submitted += 1
                yield from pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
