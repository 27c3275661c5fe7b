"""`labtools traffic [PATH]`: send requests through the ingress gateway and summarize what came back."""

from __future__ import annotations

from typing import List, Optional

import typer

from labtools import settings
from labtools.cli import app
from labtools.errors import UsageError

FORMATS = ("text", "json")
BAR_WIDTH = 30


@app.command("traffic")
def traffic(
    path: str = typer.Argument("/productpage", help="Path to request: /productpage, /api/v1/products/0/reviews..."),
    host: str = typer.Option(settings.BOOKINFO_HOST, "--host", help="Host header (the host a Gateway serves)."),
    url: str = typer.Option(settings.INGRESS_URL, "--url", help="Base URL of the ingress gateway."),
    requests: int = typer.Option(100, "-n", "--requests", min=1, max=100_000, help="How many requests to send."),
    concurrency: int = typer.Option(10, "--concurrency", "-c", min=1, max=200, help="Requests in flight at once."),
    headers: Optional[List[str]] = typer.Option(None, "--header", "-H", help="Extra header K:V (repeatable)."),
    timeout: float = typer.Option(10.0, "--timeout", min=0.01, help="Seconds to wait for each answer."),
    method: str = typer.Option("GET", "--method", "-X", help="HTTP method."),
    output_format: str = typer.Option("text", "--format", "-f", help="text or json."),
) -> None:
    """Send traffic (to feed Kiali, or to see a split) and show statuses, reviews versions and latency."""
    if output_format not in FORMATS:
        raise UsageError(f"Unknown format {output_format!r}; use one of: {', '.join(FORMATS)}.")
    extra = parse_headers(headers or [])
    from labtools.probes.facade import Probe

    probe = Probe(ingress_url=url, host=host, timeout=timeout)
    try:
        replies = probe.ingress(path, requests, concurrency, headers=extra, method=method)
    except ValueError as problem:  # a URL that is no http(s) URL
        raise UsageError(f"--url: {problem}") from None
    summary = replies.summary()
    summary.update(url=probe.http().url(path), host=host)
    if output_format == "json":
        import json

        from labtools.cli.output import write_or_print

        write_or_print(json.dumps(summary, indent=2), None)
        return
    _render(summary, path)


def parse_headers(values: list[str]) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for value in values:
        name, colon, content = value.partition(":")
        if not colon or not name.strip() or any(c.isspace() for c in name.strip()):
            raise UsageError(f"--header {value!r} is not of the form NAME:VALUE (e.g. end-user:jason).")
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
