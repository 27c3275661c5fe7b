"""Terminal rendering for the setup commands (up, down, status, doctor, dashboard, start): progress and findings."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from labtools.cli.output import escape
from labtools.provision.model import Severity

if TYPE_CHECKING:
    from rich.status import Status

# Findings and status rows (a row whose state is None is absent).
MARKS: dict[Severity | None, str] = {
    Severity.OK: "[green]✓[/]", Severity.WARN: "[yellow]![/]", Severity.FAIL: "[red]✗[/]", None: "[dim]-[/]",
}


class RichReporter:
    """Shows each step as it runs (a spinner with what it waits for) and a line per finished step."""

    def __init__(self, console, total: int):
        self.console = console
        self.total = total
        self.index = 0
        self.title = ""
        self._status: Status | None = None

    def step_started(self, name: str, title: str) -> None:
        self.index += 1
        self.title = title
        self._spin(f"[{self.index}/{self.total}] {title}")

    def waiting(self, message: str) -> None:
        self._spin(f"[{self.index}/{self.total}] {self.title}: {message}")

    def step_finished(self, name: str, title: str, changed: bool | None, detail: str) -> None:
        self.stop()
        mark = "[dim]·[/]" if changed is False else "[green]✓[/]"
        suffix = " [dim](already done)[/]" if changed is False else ""
        self.console.print(f"{mark} [{self.index}/{self.total}] {title}: {escape(detail)}{suffix}")

    def step_failed(self, name: str, title: str) -> None:
        self.stop()
        self.console.print(f"[red]✗[/] [{self.index}/{self.total}] {title}")

    def note(self, message: str) -> None:
        self.stop()
        self.console.print(f"  {escape(message)}")

    def finding(self, finding) -> None:
        if finding.severity == Severity.OK:
            return
        self.stop()
        print_finding(self.console, finding)

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def _spin(self, text: str) -> None:
        if self._status is None:
            status = self._status = self.console.status(escape(text))
            status.start()
        else:
            self._status.update(escape(text))


def print_finding(console, finding) -> None:
    console.print(f"{MARKS.get(finding.severity, '?')} [{finding.code}] {escape(finding.summary)}")
    if finding.detail and finding.severity != Severity.OK:
        for line in finding.detail.splitlines():
            console.print(f"    [dim]{escape(line.strip())}[/]")
    if finding.fix and finding.severity != Severity.OK:
        console.print(f"    fix: {escape(finding.fix)}")


def interactive() -> bool:
    """Whether a person is at the terminal (JupyterLab is started only then; never in CI or a pipe)."""
    return sys.stdin.isatty() and sys.stdout.isatty() and not os.environ.get("CI")


def launch_lab(console, mode: str, reason: str = "") -> int:
    """Start JupyterLab on the labs folder, opening lab 00, in the foreground (until Ctrl-C); returns its exit code."""
    from labtools import settings, shell
    from labtools.cli import jupyter

    launch = jupyter.plan(settings.labs_dir(), settings.home_dir() / "jupyterlab-settings",
                          as_root=hasattr(os, "geteuid") and os.geteuid() == 0)
    env = {"LABTOOLS_MODE": mode, **launch.env}
    if reason:
        env["LABTOOLS_OFFLINE_REASON"] = reason.splitlines()[0]
    if mode == "offline":
        why = escape(reason.splitlines()[0]) if reason else "no cluster"
        how = f"[bold]Offline mode[/]: your YAML is validated and graded; live checks are skipped. Why: {why}"
    else:
        how = "[bold]Live mode[/]: checks read the lab cluster."
    # The URL on a line of its own, never wrapped by us: a URL broken over lines cannot be copied whole.
    console.rule("[bold]JupyterLab[/]", align="left", style="cyan")
    console.print("Open the labs at:")
    console.print(f"  [bold]{escape(launch.url)}[/]", soft_wrap=True)
    console.print(how)
    console.print("Stop JupyterLab with Ctrl-C; `labtools start` opens it again.")
    console.rule(style="cyan")
    return shell.run_attached(launch.command, env=env)


def not_opened(console, why: str) -> None:
    """Say that JupyterLab was not started, why, and how to start it."""
    console.print(f"[yellow]![/] JupyterLab was not opened: {escape(why)}. Open the labs with [bold]labtools start[/].")

