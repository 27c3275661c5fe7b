"""The result of "check my work" in a notebook: labtools.grading.report's HTML table, with a text fallback.

The table is the same one class reports embed (report.to_html): status, points, the message of each check and
numbered hints for what failed. Above it, one line says what was graded (your cluster, or your files offline and
why) and any notice (nothing to grade yet, no cluster for a live-only lab).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from labtools.grading.results import LabResult
from labtools.notebook.views import LiveArea, Notice, View, code_html, in_ipython


@dataclass(repr=False)
class CheckView(View):
    lab: str
    result: LabResult | None = None
    graded: str = ""  # what was graded, and why in this mode
    notices: list[Notice] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.result is not None and self.result.passed

    def html(self) -> str:
        from labtools.grading import report

        graded = f'<div style="color:#57606a;margin:2px 0">{code_html(self.graded)}</div>' if self.graded else ""
        notices = "".join(n.html() for n in self.notices)
        table = report.to_html(self.result) if self.result is not None else ""
        return f'<div class="lt-check" data-lab="{self.lab}">{graded}{notices}{table}</div>'

    def text(self) -> str:
        parts = [self.graded] if self.graded else []
        parts += [n.text() for n in self.notices]
        if self.result is not None:
            from labtools.grading import report

            parts.append(report.to_text(self.result))
        return "\n".join(parts)


class CheckButton(View):
    """A "Check my work" button above the latest result; each click grades again and replaces the result in place.

    Runs the check once when made, so the cell answers even where widgets cannot be clicked (a test, nbconvert).
    """

    def __init__(self, run_check: Callable[[], CheckView]):
        self.run_check = run_check
        self.last: CheckView | None = None
        self.runs = 0
        self._area = LiveArea()
        self._shown_in: Any = None
        self.button = _make_button(self.run)

    def run(self, *_: Any) -> CheckView:
        if self.button is not None:
            self.button.disabled, self.button.description = True, "Checking…"
        try:
            self.last = self.run_check()
            self.runs += 1
        finally:
            if self.button is not None:
                self.button.disabled, self.button.description = False, "Check my work"
        self._area.show(self.last)
        return self.last

    def show(self) -> "CheckButton":
        shell = in_ipython()
        if shell is not None and self.button is not None:
            from IPython.display import display

            display(self.button)
        self._shown_in = getattr(shell, "execution_count", None) if shell is not None else None
        self.run()
        return self

    def _ipython_display_(self) -> None:
        shell = in_ipython()
        if self._area.shown and shell is not None and getattr(shell, "execution_count", None) == self._shown_in:
            return
        self._area = LiveArea()
        self.show()

    def html(self) -> str:
        return self.last.html() if self.last else ""

    def text(self) -> str:
        return self.last.text() if self.last else "Check my work (not run yet)"


def _make_button(on_click: Callable[..., Any]) -> Any:
    try:
        import ipywidgets
    except ImportError:  # the `notebook` extra is not installed: the check still runs once, without a button
        return None
    button = ipywidgets.Button(description="Check my work", button_style="primary", icon="check",
                               tooltip="Grade your work again and show the result below")
    button.on_click(on_click)
    return button
