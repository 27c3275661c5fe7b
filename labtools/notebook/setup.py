"""Lab 00's setup cell: the `labtools up` pipeline with its progress drawn in the notebook.

The pipeline (labtools.provision.pipeline) reports through a Reporter; SetupProgress is one that keeps every step,
waiting message, note and finding, and redraws a single display as they arrive. Without Docker the cell does not
start the pipeline at all: it says why and that the labs work offline meanwhile.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from labtools.errors import LabtoolsError
from labtools.notebook.environment import docker_problem
from labtools.notebook.views import COLOURS, ERROR, INFO, OK, SKIP, SYMBOLS, WARN, LiveView, Notice, View, code_html, escape
from labtools.provision.model import Severity



class StepStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


RUNNING = StepStatus.RUNNING
# How a finished step is drawn.
DRAWN_AS = {StepStatus.DONE: OK, StepStatus.FAILED: ERROR, StepStatus.INTERRUPTED: WARN}


@dataclass
class StepState:
    name: str
    title: str
    status: StepStatus = RUNNING
    detail: str = ""
    changed: bool | None = False
    started: float = field(default_factory=time.monotonic)
    seconds: float | None = None


class SetupProgress(LiveView):
    """A provision Reporter that draws itself: every step with its outcome, the current wait, notes and findings."""

    def __init__(self, title: str = "Setting up the lab cluster"):
        self.title = title
        self.steps: list[StepState] = []
        self.waiting_for = ""
        self.notes: list[str] = []
        self.findings: list[Any] = []
        self.outcome: Notice | None = None

    # --- the Reporter protocol (labtools.provision.model.Reporter) -----------------------------------------------
    def step_started(self, name: str, title: str) -> None:
        self.steps.append(StepState(name, title))
        self.waiting_for = ""
        self.show()

    def step_finished(self, name: str, title: str, changed: bool | None, detail: str) -> None:
        step = self._step(name, title)
        step.status, step.changed, step.detail = StepStatus.DONE, changed, detail
        step.seconds = time.monotonic() - step.started
        self.waiting_for = ""
        self.show()

    def waiting(self, message: str) -> None:
        self.waiting_for = message
        self.show()

    def note(self, message: str) -> None:
        self.notes.append(message)
        self.show()

    def finding(self, finding: Any) -> None:
        if finding.severity != Severity.OK:
            self.findings.append(finding)
            self.show()

    # --- outcome -------------------------------------------------------------------------------------------------
    def failed(self, problem: LabtoolsError) -> None:
        running = self._running()
        if running is not None:
            running.status, running.detail = StepStatus.FAILED, problem.message
        self.waiting_for = ""
        where = f" at step “{running.title}”" if running else ""
        self.outcome = Notice(ERROR, f"Setup stopped{where}.", [problem.message], hint=problem.hint)
        self.show()

    def interrupted(self) -> None:
        running = self._running()
        if running is not None:
            running.status, running.detail = StepStatus.INTERRUPTED, "interrupted"
        self.outcome = Notice(WARN, "Setup interrupted.", hint="Run the cell again: finished steps are checked and skipped.")
        self.show()

    def finished(self, lines: list[str]) -> None:
        self.outcome = Notice(OK, "The mesh is up.", lines)
        self.show()

    @property
    def ok(self) -> bool:
        return self.outcome is not None and self.outcome.status == OK

    # --- rendering -----------------------------------------------------------------------------------------------
    def _running(self) -> StepState | None:
        return next((s for s in reversed(self.steps) if s.status == RUNNING), None)

    def _step(self, name: str, title: str) -> StepState:
        found = next((s for s in self.steps if s.name == name), None)
        if found is None:
            found = StepState(name, title)
            self.steps.append(found)
        return found

    @staticmethod
    def _symbol(step: StepState) -> tuple[str, str]:
        if step.status == RUNNING:
            return "⏳", COLOURS[INFO]
        level = DRAWN_AS[step.status]
        return SYMBOLS[level], COLOURS[level]

    def html(self) -> str:
        rows = []
        for step in self.steps:
            symbol, colour = self._symbol(step)
            took = f" ({step.seconds:.0f} s)" if step.seconds is not None and step.seconds >= 1 else ""
            done = "" if step.status != StepStatus.DONE else (" · changed" if step.changed else " · already done")
            detail = code_html(step.detail) + escape(took + done)
            rows.append(f'<li style="list-style:none"><b style="color:{colour}">{symbol}</b> <b>{escape(step.title)}</b>'
                        f' <span style="color:var(--jp-ui-font-color2, #57606a)">{detail}</span></li>')
        if self.waiting_for:
            rows.append(f'<li style="list-style:none;color:{COLOURS[INFO]}">… {code_html(self.waiting_for)}</li>')
        extra = "".join(Notice(INFO, n).html() for n in self.notes)
        extra += "".join(_finding_notice(f).html() for f in self.findings)
        if self.outcome is not None:
            extra += self.outcome.html()
        return (f'<div class="lt-setup"><h4 style="margin:4px 0">{escape(self.title)}</h4>'
                f'<ul style="padding-left:4px;margin:2px 0">{"".join(rows)}</ul>{extra}</div>')

    def text(self) -> str:
        lines = [self.title]
        for step in self.steps:
            symbol, _ = self._symbol(step)
            lines.append(f"  {symbol} {step.title}" + (f": {step.detail}" if step.detail else ""))
        if self.waiting_for:
            lines.append(f"  … {self.waiting_for}")
        lines += [f"  note: {n}" for n in self.notes]
        lines += [_finding_notice(f).text() for f in self.findings]
        if self.outcome is not None:
            lines.append(self.outcome.text())
        return "\n".join(lines)


def _finding_notice(finding: Any) -> Notice:
    """A labtools.provision.model.Finding that is not ok: a failure or a warning, with its fix."""
    detail = [finding.detail] if finding.detail else []
    return Notice(ERROR if finding.failed else WARN, f"[{finding.code}] {finding.summary}", detail, hint=finding.fix or None)


def run_setup(recreate: bool = False) -> View:
    """Run the whole `labtools up` pipeline from a cell, drawing its progress. Needs Docker; says so without it."""
    problem = docker_problem()
    if problem is not None:
        return Notice(SKIP, "Skipped: the lab cluster runs in Docker, and Docker cannot be used here.",
                      [problem.message, "Until then every lab works offline: your YAML is validated and graded from "
                       "your files, and cells that need the cluster say that they are skipped."],
                      hint=problem.hint)
    from labtools.provision import pipeline

    progress = SetupProgress()
    progress.show()
    try:
        result = pipeline.up(pipeline.UpOptions(recreate=recreate), reporter=progress)
    except LabtoolsError as failure:
        progress.failed(failure)
        return progress
    except KeyboardInterrupt:
        progress.interrupted()
        return progress
    progress.finished([
        f"Context {result.context} in {result.kubeconfig} (your own kubeconfig is untouched).",
        "Changed: " + (", ".join(result.changed) if result.changed else "nothing; everything was already in place."),
    ])
    return progress
