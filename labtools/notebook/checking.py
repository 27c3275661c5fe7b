"""The result of "check my work" in a notebook: labtools.grading.report's HTML table, with a text fallback.

The table is the same one class reports embed (report.to_html): status, points, the message of each check and
numbered hints for what failed. Above it, one line says what was graded (your cluster, or your files offline and
why) and any notice (nothing to grade yet, no cluster for a live-only lab).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from labtools.errors import LabtoolsError
from labtools.grading.checks import Lab
from labtools.grading import Files, Live
from labtools.grading import grade as grade_with
from labtools.grading.results import LabResult
from labtools.files.manifests import read_text
from labtools.notebook.environment import SEE_MODE_NOTICE, ClusterState
from labtools.notebook.exercise import answer_files, exercise_dir
from labtools.notebook.views import ERROR, INFO, SKIP, WARN, Notice, View, code_html


@dataclass(repr=False)
class CheckView(View):
    lab: str
    result: LabResult | None = None
    graded: str = ""  # what was graded, and why in this mode
    notices: list[Notice] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # the answer files graded: name in exercise/ -> their text
    run: int = 0  # which click of the button this is (the page can tell a new result from the last one)
    answers_shown: bool = False  # hints that spell out the answer's YAML stay hidden until the learner asks

    @property
    def hidden_answers(self) -> int:
        if self.result is None or self.answers_shown:
            return 0
        return sum(1 for c in self.result.checks for hint in c.hints if c.status != "pass" and is_answer(hint))

    def shown_result(self) -> LabResult | None:
        """The result as the learner sees it: the steps first (what is wrong, which field), the YAML once asked."""
        if self.result is None or self.answers_shown:
            return self.result
        import dataclasses

        def step(check: Any) -> Any:
            hints = [h for h in check.hints if not is_answer(h)]
            if len(hints) < len(check.hints):
                hints.append(ANSWER_HIDDEN)
            return dataclasses.replace(check, hints=hints)

        return dataclasses.replace(self.result, checks=[step(c) for c in self.result.checks])

    @property
    def passed(self) -> bool:
        return self.result is not None and self.result.passed

    def html(self) -> str:
        from labtools.grading import report

        graded = f'<div style="color:var(--jp-ui-font-color2, #57606a);margin:2px 0">{code_html(self.graded)}</div>' if self.graded else ""
        notices = "".join(n.html() for n in self.notices)
        shown = self.shown_result()
        table = report.to_html(shown) if shown is not None else ""
        differs = "".join(_differs_html(name, text) for name, text in self.files.items())
        return (f'<div class="lt-check" data-lab="{self.lab}" data-run="{self.run}">{graded}{differs}{notices}{table}'
                '</div>')

    def text(self) -> str:
        parts = [self.graded] if self.graded else []
        parts += [n.text() for n in self.notices]
        shown = self.shown_result()
        if shown is not None:
            from labtools.grading import report

            parts.append(report.to_text(shown))
        return "\n".join(parts)


# Only the page knows what the learner typed: this compares the `%%apply --save FILE` cell's text in the page with the
# saved file that was graded, and shows the warning above it when they differ (the cell was edited, not run).
_DIFFERS_SCRIPT = """(() => {
  const box = document.getElementById(%(id)s); if (!box) return;
  const saved = box.dataset.saved.trimEnd();
  for (const cell of document.querySelectorAll('.jp-CodeCell')) {
    const editor = cell.querySelector('.jp-InputArea .cm-content');
    if (!editor) continue;
    // CodeMirror 6 draws only the lines in view: read its document; from the drawn lines only when all are drawn
    const view = editor.cmView && editor.cmView.view;
    let text = view && view.state ? view.state.doc.toString() : null;
    if (text === null) {
      if (cell.querySelector('.cm-gap')) continue;
      text = [...editor.querySelectorAll('.cm-line')].map(line => line.textContent).join('\\n');
    }
    const lines = text.split('\\n');
    const header = lines[0].match(/^%%%%apply\\b.*--save[ =]+(\\S+)/);
    if (!header || header[1] !== box.dataset.file) continue;
    box.hidden = lines.slice(1).join('\\n').trimEnd() === saved;
  }
})();"""


ANSWER_HIDDEN = "The YAML of the answer is hidden: try the fix first; “Show the answer”, beside “Check my work”, shows it (and notes it in your progress)."
# A hint that spells the answer out as YAML ("outlierDetection: {consecutive5xxErrors: 1, ...}"), not a step towards it.
_YAML_HINT = re.compile(r"\s*[A-Za-z_][\w.-]*:\s*(\{|\[|\n)")


def is_answer(hint: str) -> bool:
    return bool(_YAML_HINT.match(hint)) or ("\n" in hint.strip() and ":" in hint)


def answers_shown(lab: Lab, namespace: str) -> bool:
    from labtools.classroom import solved

    return solved.is_marked(lab.id, namespace)


def show_answers(lab: Lab, namespace: str) -> None:
    """The learner asked for the answer: marked as `labtools solve` marks a lab, so progress shows the lab as solved
    with the solution (until `labtools reset`), and later checks show the answers."""
    from labtools.classroom import solved

    solved.mark(lab.id, namespace, context="answer shown in the notebook")


def _differs_html(name: str, text: str) -> str:
    import json
    import secrets

    from labtools.notebook.views import WARN

    box_id = f"lt-differs-{secrets.token_hex(6)}"
    notice = Notice(WARN, f"Your exercise cell differs from exercise/{name}, which is what was graded.",
                    hint="Run the exercise cell to save (and apply) what you typed, then check again.")
    return (f'<div id="{box_id}" class="lt-differs" hidden data-file="{html.escape(name)}" '
            f'data-saved="{html.escape(text)}">{notice.html()}</div>'
            f'<script>{_DIFFERS_SCRIPT % {"id": json.dumps(box_id)}}</script>')


class CheckButton(View):
    """A "Check my work" button with its own output below it: each click grades again and redraws that output.

    The result lives in the button's widget (an ipywidgets Output), not in the cell's outputs, so a click redraws it
    after a page reload or in a reopened notebook too: JupyterLab asks the running kernel for the widgets' state.
    Grades once when made, so the cell answers even where widgets cannot be clicked (a test, nbconvert), where the
    cell shows that first result as HTML or text.
    """

    def __init__(self, run_check: Callable[[], CheckView], show_answer: Callable[[], None] | None = None):
        self.run_check = run_check
        self.show_answer = show_answer
        self.last: CheckView | None = None
        self.runs = 0
        self.button = _make_button(self.run)
        self.answer_button = _make_button(self.reveal, "Show the answer", "eye", "",
                                          "Show the YAML of the answer; your progress notes that you asked")
        self.name_row = _name_row() if self.button is not None else None
        self.output, self.widget = _make_output(self.button, self.answer_button, self.name_row)

    def reveal(self, *_: Any) -> CheckView:
        """Show the answers (recorded in progress), then grade again so the result shows them."""
        if self.show_answer is not None:
            self.show_answer()
        return self.run()

    def run(self, *_: Any) -> CheckView:
        if self.button is not None:
            self.button.disabled, self.button.description = True, "Checking…"
        try:
            self.last = self.run_check()
            self.runs += 1
            self.last.run = self.runs
        finally:
            if self.button is not None:
                self.button.disabled, self.button.description = False, "Check my work"
        if self.output is not None:  # replaced as a whole: the frontend draws the new result or nothing
            self.output.outputs = ({"output_type": "display_data", "data": self.last.bundle(), "metadata": {}},)
        if self.answer_button is not None:
            self.answer_button.layout.display = "" if self.last.hidden_answers and self.show_answer else "none"
        return self.last

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if self.last is None:
            self.run()
        bundle = self.bundle()
        if self.widget is not None:  # JupyterLab draws the widget; nbconvert and a text console the result
            bundle["application/vnd.jupyter.widget-view+json"] = {
                "model_id": self.widget.model_id, "version_major": 2, "version_minor": 0}
        display(bundle, raw=True)

    def html(self) -> str:
        return self.last.html() if self.last else ""

    def text(self) -> str:
        return self.last.text() if self.last else "Check my work (not run yet)"


def _make_output(button: Any, answer_button: Any, name_row: Any = None) -> tuple[Any, Any]:
    if button is None:
        return None, None
    import ipywidgets

    output = ipywidgets.Output()
    rows = [ipywidgets.HBox([button, answer_button]), output] + ([name_row] if name_row is not None else [])
    return output, ipywidgets.VBox(rows)


def _name_row() -> Any:
    """Asks the learner's name once (for progress and exports), unless it is set or was asked before."""
    from labtools.classroom import progress

    try:
        if not progress.should_ask_name():
            return None
    except LabtoolsError:  # an unreadable identity is said where progress is recorded
        return None
    import ipywidgets

    note = ipywidgets.HTML("Your name, for your progress and the exports you hand in (asked once; "
                           "<code>labtools progress --whoami NAME</code> changes it later):")
    name = ipywidgets.Text(placeholder="Your name")
    save = ipywidgets.Button(description="Save my name", icon="user")
    skip = ipywidgets.Button(description="Not now")
    row = ipywidgets.VBox([note, ipywidgets.HBox([name, save, skip])])

    def answer(given: str) -> None:
        try:
            if given:
                progress.set_learner(given)
            progress.name_asked()
        except LabtoolsError as problem:
            note.value = html.escape(problem.message)
            return
        row.layout.display = "none"

    save.on_click(lambda _: answer(name.value.strip()))
    skip.on_click(lambda _: answer(""))
    row.name, row.save, row.skip = name, save, skip  # for tests and scripted use
    return row


def _make_button(on_click: Callable[..., Any], description: str = "Check my work", icon: str = "check",
                 style: str = "primary", tooltip: str = "Grade your work again and show the result below") -> Any:
    try:
        import ipywidgets
    except ImportError:  # the `notebook` extra is not installed: the check still runs once, without a button
        return None
    button = ipywidgets.Button(description=description, button_style=style, icon=icon, tooltip=tooltip,
                               layout=ipywidgets.Layout(width="auto"))  # the default width cuts longer labels
    button.on_click(on_click)
    return button


def grade(lab: Lab, namespace: str, context: str | None, state: ClusterState | None) -> CheckView:
    """Live when `state` has a cluster, else the exercise files (`state` None: offline was asked for)."""
    if state is not None and state.up:
        try:
            result = grade_with(lab, Live(state.cluster, context=context), namespace)
        except LabtoolsError as problem:
            return CheckView(lab.id, notices=[Notice(ERROR, problem.message, hint=problem.hint)])
        graded = (f"Graded live: what your cluster holds in namespace {namespace} ({state.describe()}). "
                  "Not what you expected? Run the exercise cell again: it applies your YAML.")
        return CheckView(lab.id, result, graded)
    # the reason itself is said once, in the mode notice at the top of the notebook
    why = "no cluster answers" if state is not None and not state.up else "you asked for offline grading"
    if not any(not c.live for c in lab.checks):
        return CheckView(lab.id, notices=[Notice(
            SKIP, f"Lab {lab.id} is graded on your cluster only, and {why}.",
            ["Its checks look at running pods, sidecars and real requests; there is nothing to grade in files.",
             SEE_MODE_NOTICE])])
    files = answer_files(lab)
    if not files:
        return CheckView(lab.id, notices=[Notice(
            INFO, "Nothing to grade yet: there is no answer file in exercise/.",
            hint="Run the exercise cell: it saves your YAML there.")])
    try:
        result = grade_with(lab, Files(files), namespace)
    except LabtoolsError as problem:
        return CheckView(lab.id, notices=[Notice(ERROR, problem.message, hint=problem.hint)])
    names = ", ".join(f"exercise/{p.relative_to(exercise_dir(lab))}, saved {_saved_at(p)}" for p in files)
    graded = f"Graded {names}: offline, because {why}. Live checks are skipped."
    return CheckView(lab.id, result, graded, files=_texts(exercise_dir(lab), files))


def record(view: CheckView) -> None:
    """Write a graded result to the progress log; a failure to write is said under the result."""
    from labtools.classroom import progress

    try:
        provenance = progress.SOLUTION if view.answers_shown else progress.LEARNER
        progress.record_run(view.result, provenance=provenance, via="notebook")
    except LabtoolsError as problem:
        view.notices.append(Notice(WARN, f"Your progress was not recorded: {problem.message}", hint=problem.hint))


def _saved_at(path: Path) -> str:
    from datetime import datetime

    moment = datetime.fromtimestamp(path.stat().st_mtime)
    return moment.strftime("%H:%M:%S") if moment.date() == datetime.now().date() else moment.strftime("%Y-%m-%d %H:%M:%S")


def _texts(folder: Path, files: list[Path]) -> dict[str, str]:
    """The graded answer files by name, for the page to compare with the exercise cells (top-level files only)."""
    texts = {}
    for path in files:
        if path.parent == folder:
            try:
                texts[path.name] = read_text(path)
            except LabtoolsError:
                continue
    return texts
