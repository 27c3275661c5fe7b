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
    """Start JupyterLab on the labs folder in the foreground (until Ctrl-C); returns its exit code."""
    from labtools import settings, shell

    labs = settings.labs_dir()
    env = {"LABTOOLS_MODE": mode}
    if reason:
        env["LABTOOLS_OFFLINE_REASON"] = reason.splitlines()[0]
    if mode == "offline":
        console.print(f"Opening the labs in [bold]offline mode[/]: live checks are skipped. Why: {escape(reason.splitlines()[0]) if reason else 'no cluster'}")
    else:
        console.print("Opening the labs (live mode: checks read the lab cluster).")
    command = ["jupyter", "lab", str(labs)]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # JupyterLab refuses to start as root without this ("Running as root is not recommended"); learners in a
        # container or a root shell (WSL, cloud VMs) would otherwise get no lab at all.
        command.append("--allow-root")
    console.print(f"JupyterLab: {escape(' '.join(command))}  (stop it with Ctrl-C)")
    return shell.run_attached(command, env=env)
