"""Reading an HTTP body with a deadline for the whole of it and a size limit (urllib3's read timeout bounds each
wait for bytes, so a body trickled a byte at a time, or sent for ever, would otherwise never end)."""

from __future__ import annotations

import contextlib
import time
from typing import Any

CHUNK = 64 * 1024


def read_body(response: Any, deadline: float, limit: int) -> tuple[bytes, bool]:
    """The body of a urllib3 response opened with preload_content=False, read until it ends, `limit` bytes are in,
    or `deadline` (a time.perf_counter() value) passes (TimeoutError). Returns (the bytes, whether it was cut).
    The connection goes back to the pool only after a whole body; otherwise it is closed."""
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError("deadline passed while reading the body")
            sock = getattr(getattr(response, "connection", None), "sock", None)
            if sock is not None:  # each wait for bytes ends at the deadline, not a fresh read timeout later
                with contextlib.suppress(OSError):
                    sock.settimeout(remaining)
            chunk = response.read1(CHUNK)
            if not chunk:
                response.release_conn()
                return b"".join(chunks), False
            chunks.append(chunk)
            size += len(chunk)
            if size >= limit:
                response.close()
                return b"".join(chunks)[:limit], True
    except BaseException as problem:
        response.close()  # half a body: the connection cannot be reused
        if _is_timeout(problem) and time.perf_counter() >= deadline - 0.1:  # the wait was cut at the deadline
            raise TimeoutError("deadline passed while reading the body") from None
        raise


def _is_timeout(problem: BaseException) -> bool:
    from urllib3.exceptions import ReadTimeoutError

    return isinstance(problem, (TimeoutError, ReadTimeoutError))
