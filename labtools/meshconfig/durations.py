"""Durations as Istio reads them.

Istio's CRDs check every duration with the CEL rule `duration(self) >= duration('1ms')`, and CEL's duration()
parses Go's time.ParseDuration syntax: a sequence of decimal numbers, each with an optional fraction and a unit
among ns, us (or µs), ms, s, m, h, with an optional sign: "3s", "0.5s", "1m30s", "500ms", "1.5h". There is no "d"
unit and a bare number has no unit (istio/api#852: "time: unknown unit d in duration 1d").
"""

from __future__ import annotations

import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)([a-zA-Zµμ]*)")

EXAMPLES = "3s, 0.5s, 500ms, 1m30s"


def parse_duration(text: object) -> float:
    """Seconds in a Go-style duration string. Raises ValueError saying what is wrong."""
    if text is None:
        raise ValueError(f"no duration is given: durations are strings with a unit, e.g. {EXAMPLES}")
    if isinstance(text, bool) or not isinstance(text, str):
        shown = "a mapping" if isinstance(text, dict) else "a list" if isinstance(text, list) else str(text).lower()
        raise ValueError(f"{shown} is not a duration: durations are strings with a unit, e.g. {EXAMPLES}")
    body = text
    sign = 1.0
    if body and body[0] in "+-":
        sign = -1.0 if body[0] == "-" else 1.0
        body = body[1:]
    if body == "0":
        return 0.0
    if not body:
        raise ValueError(f"{text!r} is not a duration (e.g. {EXAMPLES})")
    total = 0.0
    position = 0
    while position < len(body):
        match = _PART.match(body, position)
        if match is None:
            rest = body[position:]
            problem = ("a space between the number and its unit" if rest[:1].isspace()
                       else f"unexpected {rest!r}")
            raise ValueError(f"{text!r} is not a duration: {problem}; write e.g. {EXAMPLES}")
        number, unit = match.groups()
        if not unit:
            problem = ("a space between the number and its unit" if body[match.end():match.end() + 1].isspace()
                       else "a number without a unit")
            raise ValueError(f"{text!r} is not a duration: {problem}; write e.g. {EXAMPLES}")
        if unit not in _UNITS:
            raise ValueError(f"{text!r} is not a duration: unknown unit {unit!r} (units: ns, us, ms, s, m, h); "
                             f"write e.g. {EXAMPLES}")
        total += float(number) * _UNITS[unit]
        position = match.end()
    return sign * total


def format_duration(seconds: float) -> str:
    """A short human form: 3s, 0.5s, 250ms, 1m30s."""
    if seconds and abs(seconds) < 0.1:
        return f"{seconds * 1000:g}ms"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    if seconds > 60:
        return f"{int(seconds // 60)}m{seconds % 60:g}s"
    return f"{seconds:g}s"
