"""`labtools traffic [PATH]`: send requests through the ingress gateway and summarize what came back."""

from __future__ import annotations

import math
import re
from typing import List, Optional

import typer

from labtools import settings
from labtools.cli import app
from labtools.errors import EnvironmentBroken, UsageError

FORMATS = ("text", "json")
BAR_WIDTH = 30
MAX_TIMEOUT_S = 3600
# The most of each body kept: enough for the reviews JSON (about 500 bytes) that tells the version, so that
# 100,000 replies from a server sending huge bodies hold 400 MiB at most, not 100,000 x 1 MiB.
KEPT_BODY_BYTES = 4096
# RFC 9110: a method is a token; a header name too.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


@app.command("traffic")
def traffic(
    path: str = typer.Argument("/productpage", help="Path to request: /productpage, /api/v1/products/0/reviews..."),
    host: str = typer.Option(settings.BOOKINFO_HOST, "--host", help="Host header (the host a Gateway serves)."),
    url: str = typer.Option(settings.INGRESS_URL, "--url", help="Base URL of the ingress gateway."),
    requests: int = typer.Option(100, "-n", "--requests", min=1, max=100_000, help="How many requests to send."),
    concurrency: int = typer.Option(10, "--concurrency", "-c", min=1, max=200, help="Requests in flight at once."),
    headers: Optional[List[str]] = typer.Option(None, "--header", "-H", help="Extra header K:V (repeatable)."),
    timeout: float = typer.Option(10.0, "--timeout", help="Seconds each request may take in all (connect, answer, body)."),
    method: str = typer.Option("GET", "--method", "-X", help="HTTP method."),
    output_format: str = typer.Option("text", "--format", "-f", help="text or json."),
) -> None:
    """Send traffic (to feed Kiali, or to see a split) and show statuses, reviews versions and latency."""
    if output_format not in FORMATS:
        raise UsageError(f"Unknown format {output_format!r}; use one of: {', '.join(FORMATS)}.")
    extra = parse_headers(headers or [])
    check_url(url)
    check_request(path, host, method, timeout)
    from labtools.probes.facade import Probe

    probe = Probe(ingress_url=url, host=host, timeout=timeout)
    probe.http().max_body = KEPT_BODY_BYTES
    replies = probe.ingress(path, requests, concurrency, headers=extra, method=method.upper())
    summary = replies.summary()
    summary.update(url=probe.http().url(path), host=host)
    if output_format == "json":
        import json

        from labtools.cli.output import write_or_print

        write_or_print(json.dumps(summary, indent=2), None)
    else:
        _render(summary, path)
    if not any(reply.answered for reply in replies):
        first = replies[0]
        raise EnvironmentBroken(
            f"None of the {len(replies)} requests to {summary['url']} got an HTTP answer: {first.error}"
            + (f" ({first.detail})" if first.detail else "") + ".",
            hint="Is the lab cluster running (`labtools status`)? Check --url and --host.",
        )


def check_url(url: str) -> None:
    """An http(s) URL with a host and a port that exists, or UsageError naming --url."""
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url

    try:
        parsed = parse_url(url)
    except (LocationParseError, ValueError) as problem:
        raise UsageError(f"--url {url!r} is not a URL: {problem}.") from None
    if parsed.scheme not in ("http", "https"):
        raise UsageError(f"--url {url!r} must start with http:// or https://.", hint=f"e.g. --url {settings.INGRESS_URL}")
    if not parsed.host:
        raise UsageError(f"--url {url!r} names no host.", hint=f"e.g. --url {settings.INGRESS_URL}")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise UsageError(f"--url {url!r}: port {parsed.port} does not exist (ports are 1 to 65535).")


def check_request(path: str, host: str, method: str, timeout: float) -> None:
    """The other request options, each named in its own message."""
    if not _TOKEN.fullmatch(method):
        raise UsageError(f"-X/--method {method!r} is not an HTTP method.", hint="e.g. -X GET, -X POST, -X HEAD")
    if not host or any(c.isspace() or ord(c) < 32 or c in "/@" for c in host):
        raise UsageError(f"--host {host!r} is not a host name (a Host header such as bookinfo.app or example.com:8080).")
    if not math.isfinite(timeout) or not 0 < timeout <= MAX_TIMEOUT_S:
        raise UsageError(f"--timeout {timeout} must be a number of seconds above 0 and at most {MAX_TIMEOUT_S}.")
    if any(ord(c) < 33 or ord(c) == 127 for c in path):
        raise UsageError(f"PATH {path!r} contains spaces or control characters; percent-encode them (%20).")


def parse_headers(values: list[str]) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for value in values:
        name, colon, content = value.partition(":")
        if not colon or not _TOKEN.fullmatch(name.strip()):
            raise UsageError(f"--header {value!r} is not of the form NAME:VALUE (e.g. end-user:jason).")
        if any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in content):
            raise UsageError(f"--header {value!r}: a header value cannot hold control characters (a newline?).")
        parsed[name.strip()] = content.strip()
    return parsed


def _render(summary: dict, path: str) -> None:
    from rich.table import Table
    from rich.text import Text

    from labtools.cli.output import console

    out = console()
    total = summary["requests"]
    out.print(Text(f"{total} requests to {summary['url']} (Host: {summary['host']})"))
    table = Table()
    for column, right in (("Answer", False), ("Count", True), ("Share", True), ("", False)):
        table.add_column(column, justify="right" if right else "left")
    rows = [(f"HTTP {code}", count, _style(code)) for code, count in summary["status"].items()]
    rows += [(error, count, "yellow") for error, count in summary["errors"].items()]
    for label, count, style in rows:
        table.add_row(Text(label, style=style), str(count), f"{100 * count / total:.1f}%", _bar(count, total, style))
    versions = summary["versions"]
    if versions:
        table.add_section()
        answered = sum(versions.values())
        for version, count in versions.items():
            table.add_row(Text(version, style="cyan"), str(count), f"{100 * count / answered:.1f}%",
                          _bar(count, answered, "cyan"))
    out.print(table)
    latency = summary["latency_ms"]
    if latency["p50"] is not None:
        out.print(f"latency: p50 {latency['p50']:g} ms, p90 {latency['p90']:g} ms, max {latency['max']:g} ms")
    if not versions and "/reviews" not in path:
        out.print(Text("To see which reviews version answered, ask for the reviews JSON: "
                       "labtools traffic /api/v1/products/0/reviews", style="dim"))


def _style(code: str) -> str:
    return "green" if code.startswith(("2", "3")) else "red" if code.startswith("5") else "yellow"


def _bar(count: int, total: int, style: str):
    from rich.text import Text

    width = round(BAR_WIDTH * count / total) if total else 0
    return Text("█" * width, style=style)
