"""Downloads (Istio's release and checksum, its CRD file, the Gateway API's install file): one way, bounded.

Each wait for bytes lasts at most `read_timeout` seconds, the whole transfer at most `deadline_s` (overrun by one wait
at most), and a body larger than `max_bytes` is refused (by its Content-Length before anything is read, else as it
arrives), so a stalled, trickling or endless server ends the command with a message instead of hanging it.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from typing import Callable, Iterator

from labtools.errors import EnvironmentBroken

CHUNK = 256 * 1024
READ_TIMEOUT = 20  # seconds for the connection and for each wait for bytes
NETWORK_HINT = "Check the internet connection. Behind a proxy, set HTTPS_PROXY (and NO_PROXY=127.0.0.1,localhost)."


def chunks(url: str, what: str, max_bytes: int, deadline_s: float, progress: Callable[[int, int], None] = lambda *_: None,
           hint: str = NETWORK_HINT, read_timeout: float = READ_TIMEOUT) -> Iterator[bytes]:
    """The body of `url` in chunks; progress(bytes so far, declared size or 0). EnvironmentBroken naming `what` on
    any failure, the limit passed, or the deadline."""
    started = time.monotonic()
    size = 0
    try:
        with urllib.request.urlopen(url, timeout=read_timeout) as response:
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > max_bytes:
                raise EnvironmentBroken(f"{url} is {declared >> 20} MiB, more than the {max_bytes >> 20} MiB {what} "
                                        "can be.", hint=hint)
            # read1: what has arrived (up to CHUNK), so a trickling server meets the deadline check after each wait
            # for bytes (at most read_timeout), not after a whole CHUNK has trickled in
            while chunk := response.read1(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise EnvironmentBroken(f"{url} sent more than {max_bytes >> 20} MiB; that is not {what}.", hint=hint)
                if time.monotonic() - started > deadline_s:
                    raise EnvironmentBroken(f"Downloading {url} took more than {deadline_s:g} s; stopped.", hint=hint)
                progress(size, declared)
                yield chunk
    except urllib.error.HTTPError as problem:
        raise EnvironmentBroken(f"Cannot download {what} from {url}: HTTP {problem.code} {problem.reason}.",
                                hint=hint) from None
    except (urllib.error.URLError, OSError, ValueError) as problem:
        reason = getattr(problem, "reason", None) or problem
        raise EnvironmentBroken(f"Cannot download {what} from {url}: {reason} (no network here?).", hint=hint) from None


def fetch(url: str, what: str, max_bytes: int, deadline_s: float, progress: Callable[[int, int], None] = lambda *_: None,
          hint: str = NETWORK_HINT) -> bytes:
    """The whole body of `url` (see chunks)."""
    return b"".join(chunks(url, what, max_bytes, deadline_s, progress, hint))
