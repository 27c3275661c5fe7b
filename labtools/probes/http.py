"""HTTP from this machine: requests to the ingress gateway (127.0.0.1:8080 on a kind cluster) with a Host header.

Each request records its status, its latency and its body; a request that gets no answer records why (timeout,
connection refused...) instead of raising, because a check wants to count those too. urllib3 (already a
dependency of the Kubernetes client) does the HTTP; retries and redirects are off so that every answer is seen
as the gateway gave it.
"""

from __future__ import annotations

import math
import time
from typing import Generator, Mapping
from urllib.parse import urlencode, urljoin

import urllib3

from labtools.probes.concurrent import in_order
from labtools.probes.replies import (
    FAILED, MAX_BODY_CHARS, REFUSED, RESET, TIMEOUT, UNRESOLVED, ProbeError, Replies, Reply,
)

DEFAULT_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 5.0
# The most of a body kept (a Bookinfo page is about 5 KB): a body that goes on is cut here, not held in memory.
MAX_BODY_BYTES = 1024 * 1024
_BODY_METHODS = ("POST", "PUT", "PATCH")


class HttpClient:
    """Requests to one base URL, optionally presenting a virtual host (the Host header a Gateway matches)."""

    def __init__(self, base_url: str, host: str | None = None, timeout: float = DEFAULT_TIMEOUT_S,
                 headers: Mapping[str, str] | None = None, max_connections: int = 10):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"{base_url!r} is not an http:// or https:// URL.")
        if not 0 < timeout < math.inf:  # also refuses nan
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout}")
        self.base_url = base_url.rstrip("/")
        self.host = host
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.max_body = MAX_BODY_BYTES  # the most of each body kept (a caller sending many requests may keep less)
        self._pool = urllib3.PoolManager(num_pools=4, maxsize=max(1, max_connections), block=False, retries=False)

    def url(self, path: str) -> str:
        return urljoin(self.base_url + "/", path.lstrip("/")) if not path.startswith(("http://", "https://")) else path

    def request(self, path: str = "/", method: str = "GET", headers: Mapping[str, str] | None = None,
                body: bytes | str | None = None, timeout: float | None = None, index: int = 0) -> Reply:
        """Send one request and describe what came back (never raises for network trouble: see Reply.error)."""
        sent_headers = {**({"Host": self.host} if self.host else {}), **self.headers, **(headers or {})}
        if body is None and method.upper() in _BODY_METHODS:
            body = b""
        limit = timeout or self.timeout
        started = time.perf_counter()
        deadline = started + limit  # the whole request: connecting, the headers and the body
        try:
            response = self._pool.request(
                method.upper(), self.url(path), headers=sent_headers, body=body, redirect=False,
                preload_content=False, timeout=urllib3.Timeout(total=limit, connect=min(limit, CONNECT_TIMEOUT_S)),
            )
        except urllib3.exceptions.HTTPError as exc:
            error, detail = _classify(exc, limit)
            return Reply(index, None, time.perf_counter() - started, error=error, detail=detail)
        except (OSError, ValueError, UnicodeError) as exc:  # e.g. a port out of range, a header urllib3 refuses
            return Reply(index, None, time.perf_counter() - started, error=FAILED, detail=str(exc)[:300])
        try:
            data, cut = _read_body(response, deadline, self.max_body)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            error, detail = _classify(exc, limit)
            if error == TIMEOUT:
                detail = f"HTTP {response.status} came, but the body did not finish within {limit:g} s"
            return Reply(index, None, time.perf_counter() - started, error=error, detail=detail)
        latency = time.perf_counter() - started
        detail = f"the body was longer than {self.max_body // 1024} KiB; only that much was read" if cut else ""
        return Reply(index, response.status, latency, body=_text(response, data), headers=_headers(response),
                      detail=detail)

    def stream(self, path: str = "/", n: int = 1, concurrency: int = 1, method: str = "GET",
               headers: Mapping[str, str] | None = None, timeout: float | None = None) -> Generator[Reply, None, None]:
        """`n` requests, `concurrency` at a time, yielded in the order they were sent (stop early by closing it)."""
        return in_order(lambda i: [self.request(path, method, headers, timeout=timeout, index=i)], n, concurrency)

    def send(self, path: str = "/", n: int = 1, concurrency: int = 1, method: str = "GET",
             headers: Mapping[str, str] | None = None, timeout: float | None = None) -> Replies:
        """`n` requests, `concurrency` at a time; all their replies."""
        if n < 1:
            raise ValueError("n must be at least 1")
        return Replies(self.stream(path, n, concurrency, method, headers, timeout))

    def login(self, user: str, path: str = "/login") -> dict[str, str]:
        """Log in to Bookinfo's product page as `user`; returns the Cookie header that carries the session.

        productpage sets the `end-user` header on its calls to reviews from the session cookie only (an
        `end-user` header sent from outside is not passed on), so "jason's requests" through the ingress need it.
        It answers the login form with a redirect to the Referer and a session cookie.
        """
        reply = self.request(
            path, "POST", body=urlencode({"username": user, "passwd": ""}),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": self.url("/productpage")},
        )
        cookie = reply.headers.get("set-cookie", "")
        if not reply.answered or not cookie:
            seen = reply.outcome + (f" ({reply.detail})" if reply.detail else "")
            raise ProbeError(
                f"Logging in as {user} at {self.url(path)} gave no session cookie (answer: {seen}).",
                hint="The route for /login must reach productpage; check the Gateway and VirtualService of lab 03.",
            )
        return {"Cookie": "; ".join(line.split(";", 1)[0].strip() for line in cookie.splitlines() if line.strip())}

    def close(self) -> None:
        self._pool.clear()


def _classify(exc: Exception, limit: float) -> tuple[str, str]:
    reason = getattr(exc, "reason", None)  # MaxRetryError wraps the real cause (only with retries enabled)
    cause = reason if isinstance(reason, Exception) else exc
    text = str(cause)
    # urllib3 2 makes NewConnectionError a ConnectTimeoutError: ask about it (and name resolution) first.
    if isinstance(cause, urllib3.exceptions.NameResolutionError):
        return UNRESOLVED, text
    if isinstance(cause, urllib3.exceptions.NewConnectionError):
        return (REFUSED if "refused" in text.lower() else FAILED), text
    if isinstance(cause, (urllib3.exceptions.TimeoutError, TimeoutError)):
        return TIMEOUT, f"no answer within {limit:g} s"
    if isinstance(cause, urllib3.exceptions.ProtocolError):
        return RESET, text
    return FAILED, text


def _headers(response: urllib3.BaseHTTPResponse) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in response.headers.items():
        key = name.lower()
        # Cookies may contain commas (Expires=Wed, 21 Oct ...): keep several Set-Cookie headers on separate lines.
        separator = "\n" if key == "set-cookie" else ", "
        headers[key] = f"{headers[key]}{separator}{value}" if key in headers else value
    return headers


def _read_body(response: urllib3.BaseHTTPResponse, deadline: float, limit: int = MAX_BODY_BYTES) -> tuple[bytes, bool]:
    from labtools.bounded import read_body

    return read_body(response, deadline, limit)


def read_bounded(response: urllib3.BaseHTTPResponse, timeout: float, limit: int) -> tuple[bytes, bool]:
    """For other readers of HTTP bodies (Envoy's admin interface): at most `limit` bytes within `timeout` s."""
    return _read_body(response, time.perf_counter() + timeout, limit)


def _text(response: urllib3.BaseHTTPResponse, data: bytes) -> str:
    charset = "utf-8"
    content_type = response.headers.get("content-type", "")
    if "charset=" in content_type:
        charset = content_type.split("charset=", 1)[1].split(";")[0].strip() or "utf-8"
    try:
        text = data.decode(charset, "replace")
    except LookupError:
        text = data.decode("utf-8", "replace")
    return text[:MAX_BODY_CHARS]
