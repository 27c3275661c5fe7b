"""What notebook helpers return: objects that render as HTML in JupyterLab and as plain text everywhere else.

Every view has `_repr_html_` (JupyterLab shows it) and `__repr__`/`_repr_pretty_` (nbconvert to text, a terminal
IPython, a log). Helpers return views instead of printing, so a cell's last expression shows it and a test can look
at the data (`notice.status`, `view.result`). Learner text is always escaped.

Live views (progress, bars that grow as requests arrive) use `LiveArea`: one display that is updated in place.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Sequence


class Level(StrEnum):
    """How a notice is drawn (symbol and colour)."""

    OK = "ok"
    INFO = "info"
    SKIP = "skip"
    WARN = "warn"
    ERROR = "error"


OK, INFO, SKIP, WARN, ERROR = tuple(Level)
SYMBOLS = {OK: "✔", INFO: "ℹ", SKIP: "–", WARN: "!", ERROR: "✘"}
COLOURS = {OK: "var(--jp-success-color1, #1a7f37)", INFO: "var(--jp-info-color1, #0969da)", SKIP: "var(--jp-ui-font-color2, #6e7781)", WARN: "var(--jp-warn-color1, #9a6700)", ERROR: "var(--jp-error-color1, #cf222e)"}
_BOX = "border-left:4px solid {colour};padding:4px 10px;margin:4px 0;background:var(--jp-layout-color2, #f6f8fa)"


def escape(text: Any) -> str:
    return html.escape(str(text))


def code_html(text: str) -> str:
    """`backticks` in a message become <code>; everything else is escaped."""
    parts = str(text).split("`")
    return "".join(f"<code>{escape(p)}</code>" if i % 2 else escape(p) for i, p in enumerate(parts))


class View:
    """Base: text and HTML from one place."""

    def html(self) -> str:
        raise NotImplementedError

    def text(self) -> str:
        raise NotImplementedError

    def bundle(self) -> dict[str, Any]:
        """What IPython's display(..., raw=True) shows: HTML where it can, text elsewhere."""
        return {"text/plain": self.text(), "text/html": self.html()}

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())

    def __repr__(self) -> str:
        return self.text()


@dataclass(repr=False)
class Notice(View):
    """One message: `status` (ok, info, skip, warn, error), a title, optional detail lines and a hint (what to do)."""

    status: Level
    title: str
    lines: Sequence[str] = ()
    hint: str | None = None

    def html(self) -> str:
        colour = COLOURS[self.status]
        body = "".join(f'<div style="white-space:pre-wrap">{code_html(line)}</div>' for line in self.lines)
        hint = f'<div style="color:{COLOURS[INFO]}">→ {code_html(self.hint)}</div>' if self.hint else ""
        return (
            f'<div class="lt-notice lt-{self.status}" style="{_BOX.format(colour=colour)}">'
            f'<b style="color:{colour}">{SYMBOLS[self.status]}</b> <b>{code_html(self.title)}</b>{body}{hint}</div>'
        )

    def text(self) -> str:
        out = [f"{SYMBOLS[self.status]} {self.title}"]
        out += [f"    {part}" for line in self.lines for part in str(line).splitlines() or [""]]
        if self.hint:
            out.append(f"    → {self.hint}")
        return "\n".join(out)

    @property
    def ok(self) -> bool:
        return self.status in (OK, INFO)


@dataclass(repr=False)
class Report(View):
    """A titled list of notices, e.g. the prerequisites of a lab."""

    title: str
    items: list[Notice] = field(default_factory=list)

    def add(self, status: Level, title: str, lines: Sequence[str] = (), hint: str | None = None) -> Notice:
        notice = Notice(status, title, list(lines), hint)
        self.items.append(notice)
        return notice

    @property
    def ok(self) -> bool:
        return not any(n.status == ERROR for n in self.items)

    def html(self) -> str:
        items = "".join(n.html() for n in self.items)
        return f'<div class="lt-report"><h4 style="margin:4px 0">{escape(self.title)}</h4>{items}</div>'

    def text(self) -> str:
        return "\n".join([self.title] + [n.text() for n in self.items])


@dataclass(repr=False)
class Table(View):
    """Rows of plain values under headers, with an optional title and a note below."""

    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]
    title: str = ""
    note: str = ""
    css_class: str = "lt-table"

    def html(self) -> str:
        cell = 'style="border:1px solid var(--jp-border-color1, #d0d7de);padding:2px 8px;text-align:left;vertical-align:top"'
        head = "".join(f"<th {cell}>{escape(h)}</th>" for h in self.headers)
        body = "".join("<tr>" + "".join(f"<td {cell}>{code_html(v)}</td>" for v in row) + "</tr>" for row in self.rows)
        title = f'<h4 style="margin:4px 0">{escape(self.title)}</h4>' if self.title else ""
        note = f'<p style="color:var(--jp-ui-font-color2, #6e7781)">{code_html(self.note)}</p>' if self.note else ""
        return (f'<div class="{self.css_class}">{title}<table style="border-collapse:collapse">'
                f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}</div>")

    def text(self) -> str:
        columns = [list(map(str, self.headers))] + [[str(v) for v in row] for row in self.rows]
        widths = [max(len(line) for r in columns for line in (r[i].splitlines() or [""])) for i in range(len(self.headers))]
        lines = [self.title] if self.title else []
        for index, row in enumerate(columns):
            lines.append("  ".join(value.replace("\n", " / ").ljust(widths[i]) for i, value in enumerate(row)).rstrip())
            if index == 0:
                lines.append("  ".join("-" * w for w in widths))
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)


@dataclass(repr=False)
class Link(View):
    """A URL to open, with what it shows and an optional note (e.g. why it may not answer yet)."""

    url: str
    label: str
    note: str = ""

    def html(self) -> str:
        note = f'<div style="color:var(--jp-ui-font-color2, #6e7781)">{code_html(self.note)}</div>' if self.note else ""
        return (f'<div class="lt-link">🔗 <a href="{escape(self.url)}" target="_blank" rel="noopener">'
                f"{escape(self.label)}</a> <code>{escape(self.url)}</code>{note}</div>")

    def text(self) -> str:
        return f"{self.label}: {self.url}" + (f"\n    {self.note}" if self.note else "")

    def __str__(self) -> str:
        return self.url


class Group(View):
    """Several views shown as one output, in order."""

    def __init__(self, *parts: View):
        self.parts = [p for p in parts if p is not None]

    def html(self) -> str:
        return "".join(p.html() for p in self.parts)

    def text(self) -> str:
        return "\n".join(p.text() for p in self.parts)


def in_ipython() -> Any:
    """The running IPython shell, or None (plain Python, a test)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


class LiveArea:
    """One display that is replaced in place as a long task makes progress; silent outside IPython."""

    def __init__(self) -> None:
        self._handle: Any = None

    def show(self, view: View) -> None:
        if in_ipython() is None:
            return
        from IPython.display import display

        if self._handle is None:
            self._handle = display(view.bundle(), raw=True, display_id=True)
        else:
            self._handle.update(view.bundle(), raw=True)

    @property
    def shown(self) -> bool:
        return self._handle is not None


class LiveView(View):
    """A view drawn while it changes (progress, growing bars). Returning it from the cell that drew it does not
    draw it a second time; showing it in a later cell does."""

    _area: LiveArea | None = None
    _shown_in: Any = None

    def show(self) -> "LiveView":
        """Draw (the first time) or redraw in place."""
        if self._area is None:
            self._area = LiveArea()
        self._area.show(self)
        shell = in_ipython()
        self._shown_in = getattr(shell, "execution_count", None) if shell is not None else None
        return self

    def shown_here(self) -> bool:
        """Whether the cell running now has drawn this view already."""
        shell = in_ipython()
        return (self._area is not None and self._area.shown and shell is not None
                and getattr(shell, "execution_count", None) == self._shown_in)

    def _ipython_display_(self) -> None:
        if self.shown_here():
            return
        from IPython.display import display

        display(self.bundle(), raw=True)
