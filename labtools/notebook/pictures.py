"""Pictures of what the mesh did, drawn from data the caller hands in (never invented here).

    bars = split_bars(expected={"v1": 0.8, "v3": 0.2})            # what the YAML asks for (offline evaluation)
    bars = split_bars(versions, expected=...)                       # fed live: bars grow as answers arrive
    latency_histogram(latencies_ms, timeout_s=3)                    # delays and timeouts
    status_timeline(statuses)                                       # 200s turning into 503s (circuit breaking)

Every picture also has a text summary (its caption in HTML, its whole self as text/plain). Histograms and timelines
use matplotlib (the `notebook` extra); without it they show the summary alone and say why.
"""

from __future__ import annotations

import base64
import io
import math
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from labtools.grading.expect import percent
from labtools.notebook.views import INFO, LiveView, Notice, View, code_html, escape

# Bookinfo's reviews versions in the colour of their stars: v1 none (blue here), v2 black, v3 red.
VERSION_COLOURS = {"v1": "#0969da", "v2": "var(--jp-content-font-color1, #24292f)", "v3": "#cf222e"}
PALETTE = ("#8250df", "#1a7f37", "#bf8700", "#0a3069", "#953800")
OTHER = "other"


def _colour(name: str, index: int) -> str:
    return VERSION_COLOURS.get(name, PALETTE[index % len(PALETTE)])


class SplitBars(LiveView):
    """Where requests went, as bars: observed shares (filled) against expected ones (a marker).

    `add(outcome)` counts one answer (a version such as "v3"; None counts as "other": an error or no version);
    `feed(iterable)` counts many and redraws the live display every `refresh_s` seconds while they arrive.
    """

    def __init__(self, expected: Mapping[str, float] | None = None, title: str = "", unit: str = "answers",
                 counted: bool = False):
        total = sum(expected.values()) if expected else 0
        self.expected = {str(k): v / total for k, v in expected.items()} if total else {}
        self.title = title
        self.unit = unit
        # counted: `expected` holds numbers of requests, shown as such and in the order given (a sequence of stages)
        self.counted = counted
        self.expected_total = total
        self.counts: Counter[str] = Counter()

    # --- data ---------------------------------------------------------------------------------------------
    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def shares(self) -> dict[str, float]:
        total = self.total
        return {k: v / total for k, v in self.counts.items()} if total else {}

    def categories(self) -> list[str]:
        if self.counted:
            return list(self.expected) + sorted(set(self.counts) - set(self.expected), key=lambda n: (n == OTHER, n))
        names = set(self.expected) | set(self.counts)
        return sorted(names, key=lambda n: (n == OTHER, n))

    def _expected_label(self, share: float) -> str:
        if self.counted:
            count = round(share * self.expected_total)
            return f"{count:g} of {self.expected_total:g} {self.unit}"
        return percent(share)

    def add(self, outcome: str | None) -> "SplitBars":
        self.counts[outcome if outcome else OTHER] += 1
        return self

    def feed(self, outcomes: Iterable[str | None], refresh_s: float = 0.25) -> "SplitBars":
        """Count every outcome, redrawing the live display as they arrive (in a notebook)."""
        self.show()
        last = time.monotonic()
        for outcome in outcomes:
            self.add(outcome)
            if time.monotonic() - last >= refresh_s:
                self.show()
                last = time.monotonic()
        self.show()
        return self

    # --- display ------------------------------------------------------------------------------------------
    def heading(self) -> str:
        title = self.title or "Where the requests went"
        if self.total:
            return f"{title}: {self.total} {self.unit}"
        if self.counted and self.expected:
            return title
        return f"{title} (expected shares; no {self.unit} counted)" if self.expected else f"{title}: waiting for {self.unit}"

    def html(self) -> str:
        shares = self.shares()
        rows = []
        for index, name in enumerate(self.categories()):
            colour = _colour(name, index)
            observed = shares.get(name)
            expected = self.expected.get(name)
            fill = observed if self.total else (expected or 0)
            opacity = "1" if self.total else "0.35"
            marker = (f'<div title="expected {percent(expected)}" style="position:absolute;top:-3px;bottom:-3px;'
                      f'left:calc({expected * 100:.2f}% - 1px);width:2px;background:var(--jp-content-font-color1, #24292f)"></div>'
                      if expected is not None and self.total else "")
            bar = (f'<div style="position:relative;width:320px;height:16px;background:var(--jp-layout-color3, #eaeef2);border-radius:3px">'
                   f'<div style="width:{fill * 100:.2f}%;height:100%;background:{colour};opacity:{opacity};'
                   f'border-radius:3px"></div>{marker}</div>')
            seen = f"{self.counts[name]} ({percent(observed)})" if observed is not None else ("0" if self.total else "")
            wanted = (self._expected_label(expected) if not self.total and expected is not None
                      else f"expected {percent(expected)}" if expected is not None else ("not expected" if self.total else ""))
            rows.append(f'<tr><td style="padding:2px 8px"><b>{escape(name)}</b></td><td>{bar}</td>'
                        f'<td style="padding:2px 8px;text-align:right">{escape(seen)}</td>'
                        f'<td style="padding:2px 8px;color:var(--jp-ui-font-color2, #6e7781)">{escape(wanted)}</td></tr>')
        return (f'<div class="lt-split"><h4 style="margin:4px 0">{escape(self.heading())}</h4>'
                f'<table style="border-collapse:collapse">{"".join(rows)}</table></div>')

    def text(self) -> str:
        shares = self.shares()
        lines = [self.heading()]
        width = max((len(n) for n in self.categories()), default=0)
        for name in self.categories():
            share = shares.get(name, 0.0) if self.total else self.expected.get(name, 0.0)
            bar = "█" * round(share * 40)
            extra = f"{self.counts[name]:>4} ({percent(share)})" if self.total else self._expected_label(share)
            wanted = f"  expected {percent(self.expected[name])}" if self.total and name in self.expected else ""
            lines.append(f"  {name.ljust(width)} {bar.ljust(40)} {extra}{wanted}")
        return "\n".join(lines)


def split_bars(observed: Iterable[str | None] | None = None, expected: Mapping[str, float] | None = None,
               title: str = "", unit: str = "answers", counted: bool = False) -> SplitBars:
    """Bars of where requests went. Give `expected` shares (e.g. from `lab.expected_split(...)`), observed versions
    (an iterable, consumed live), or both. Returns the SplitBars so more answers can be added later.
    `counted=True`: `expected` holds numbers of requests (shown as "2 of 3 requests", in the order given)."""
    bars = SplitBars(expected, title, unit, counted)
    if observed is not None:
        bars.feed(observed)
    return bars


# --- static pictures (matplotlib) -----------------------------------------------------------------------------


@dataclass(repr=False)
class Picture(View):
    """A drawn figure as PNG, with a text summary that stands in for it where images cannot be shown."""

    summary: str
    png: bytes | None = None
    note: str = ""

    def html(self) -> str:
        note = f'<div style="color:var(--jp-ui-font-color2, #6e7781)">{code_html(self.note)}</div>' if self.note else ""
        caption = f'<figcaption style="white-space:pre-wrap;color:var(--jp-ui-font-color2, #57606a)">{escape(self.summary)}</figcaption>'
        if self.png is None:
            return f'<figure class="lt-picture" style="margin:4px 0">{caption}{note}</figure>'
        data = base64.b64encode(self.png).decode("ascii")
        return (f'<figure class="lt-picture" style="margin:4px 0"><img src="data:image/png;base64,{data}" '
                f'alt="{escape(self.summary.splitlines()[0])}"/>{caption}{note}</figure>')

    def text(self) -> str:
        return self.summary + (f"\n{self.note}" if self.note else "")


def _figure(width: float = 7.0, height: float = 3.2) -> Any:
    """A matplotlib Figure without pyplot (no global state, no double display), or None without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


NO_MATPLOTLIB = "matplotlib is not installed, so only the summary is shown (pip install 'labtools[notebook]')."


def _latencies_ms(items: Iterable[Any]) -> tuple[list[float], int]:
    """Milliseconds from plain numbers, or from a probe's replies (latency_s); and how many replies got no answer."""
    values, unanswered = [], 0
    for item in items:
        if hasattr(item, "latency_s"):
            if getattr(item, "status", 0) is None:
                unanswered += 1
                continue
            value = float(item.latency_s) * 1000
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            value = float(item)
        else:
            raise TypeError(f"a latency must be a number of milliseconds or a reply with latency_s, not {item!r}")
        if math.isfinite(value):
            values.append(value)
    return values, unanswered


def latency_histogram(latencies_ms: Iterable[Any], timeout_s: float | None = None, delay_s: float | None = None,
                      title: str = "Response times", bins: int = 30) -> View:
    """How long requests took. Mark a route's `timeout_s` and an injected `delay_s` to see which side they fall.

    Accepts milliseconds, or objects with `latency_s` (a probe's replies)."""
    from labtools.probes.replies import format_seconds, percentile

    values, unanswered = _latencies_ms(latencies_ms)
    if not values:
        return Notice(INFO, f"{title}: no response times to draw.", hint="Send some requests first.")
    p50, p90, top = (format_seconds(percentile(values, q) / 1000) for q in (50, 90, 100))
    summary = [f"{title}: {len(values)} answers, p50 {p50}, p90 {p90}, max {top}"]
    if unanswered:
        summary.append(f"{unanswered} request(s) got no answer at all and are not drawn")
    marks = []
    if delay_s is not None:
        marks.append((delay_s * 1000, f"injected delay {delay_s:g} s", "#9a6700"))
        slow = sum(1 for v in values if v >= delay_s * 1000)
        summary.append(f"{slow} of {len(values)} ({percent(slow / len(values))}) took at least the {delay_s:g} s delay")
    if timeout_s is not None:
        marks.append((timeout_s * 1000, f"timeout {timeout_s:g} s", "#cf222e"))
        cut = sum(1 for v in values if v >= timeout_s * 1000)
        summary.append(f"{cut} of {len(values)} ({percent(cut / len(values))}) ran into the {timeout_s:g} s timeout")
    figure = _figure()
    if figure is None:
        return Picture("\n".join(summary), note=NO_MATPLOTLIB)
    axes = figure.add_subplot()
    scale, unit = (1000.0, "seconds") if max(values + [x for x, _, _ in marks]) >= 2000 else (1.0, "milliseconds")
    axes.hist([v / scale for v in values], bins=bins, color="#0969da", alpha=0.8)
    for x, label, colour in marks:
        axes.axvline(x / scale, color=colour, linestyle="--", linewidth=1.5, label=label)
    if marks:
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _whole_numbers(axes)
    axes.set(title=title, xlabel=unit, ylabel="requests")
    return Picture("\n".join(summary), _png(figure))


def _whole_numbers(axes: Any) -> None:
    """Request counts are whole: no 1.5 on the y axis."""
    from matplotlib.ticker import MaxNLocator

    axes.yaxis.set_major_locator(MaxNLocator(integer=True))


def _status_class(outcome: str) -> str:
    if outcome.isdigit():
        return f"{outcome[0]}xx" if outcome not in ("503", "504", "500") else outcome
    return "no answer"


CLASS_COLOURS = {"2xx": "#1a7f37", "3xx": "#0969da", "4xx": "#bf8700", "500": "#953800", "503": "#cf222e",
                 "504": "#8250df", "5xx": "#a40e26", "no answer": "#6e7781"}


def status_timeline(statuses: Iterable[Any], bin_size: int | float | None = None,
                    title: str = "Status codes over time") -> View:
    """Status codes in the order requests were sent (stacked bars per group of requests), or over time when the
    items are (seconds, status) pairs. Accepts codes (200, "503", "timeout") or objects with `outcome`."""
    timed: list[tuple[float, str]] = []
    ordered: list[str] = []
    for item in statuses:
        if isinstance(item, tuple) and len(item) == 2:
            timed.append((float(item[0]), str(item[1])))
        else:
            ordered.append(str(getattr(item, "outcome", item)))
    if timed and ordered:
        raise ValueError("give either (seconds, status) pairs or statuses in order, not a mix")
    points = timed or [(float(i), s) for i, s in enumerate(ordered)]
    if not points:
        return Notice(INFO, f"{title}: no statuses to draw.", hint="Send some requests first.")
    span = max(t for t, _ in points) + 1e-9
    size = bin_size or (max(1.0, math.ceil(span / 20)) if not timed else max(0.1, span / 20))
    groups: dict[int, Counter[str]] = {}
    for t, status in points:
        groups.setdefault(int(t // size), Counter())[_status_class(status)] += 1
    totals = Counter(s for _, s in points)
    summary = [f"{title}: {len(points)} requests: " + ", ".join(f"{s} x{n}" for s, n in totals.most_common())]
    unit = "s" if timed else "requests"
    first_bad = next((t for t, s in sorted(points) if not s.startswith("2")), None)
    if first_bad is not None:
        summary.append(f"first non-2xx answer at {first_bad:g} {unit if timed else '(request index)'}")
    figure = _figure()
    if figure is None:
        return Picture("\n".join(summary), note=NO_MATPLOTLIB)
    axes = figure.add_subplot()
    keys = sorted(groups)
    classes = sorted({c for g in groups.values() for c in g}, key=lambda c: list(CLASS_COLOURS).index(c) if c in CLASS_COLOURS else 99)
    bottom = [0] * len(keys)
    for name in classes:
        heights = [groups[k][name] for k in keys]
        axes.bar([k * size for k in keys], heights, width=size * 0.9, bottom=bottom, align="edge",
                 color=CLASS_COLOURS.get(name, "#57606a"), label=name)
        bottom = [b + h for b, h in zip(bottom, heights)]
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _whole_numbers(axes)
    axes.set(title=title, xlabel="seconds since start" if timed else "requests, in the order sent", ylabel="requests")
    return Picture("\n".join(summary), _png(figure))
