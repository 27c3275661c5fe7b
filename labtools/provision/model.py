"""What provisioning reports: findings (a diagnosis with its fix) and progress (through a Reporter, never print)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from labtools.errors import EnvironmentBroken

if TYPE_CHECKING:
    from labtools.provision.codes import Code


class Severity(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


OK, WARN, FAIL = Severity.OK, Severity.WARN, Severity.FAIL


@dataclass(frozen=True)
class Finding:
    """One diagnosis. `code` is stable (labtools.provision.codes) so messages can be searched; every non-OK finding
    carries a fix (the catalog's, where the finding names none of its own)."""

    code: Code
    severity: Severity
    summary: str
    detail: str = ""
    fix: str = ""

    def __post_init__(self) -> None:
        if not self.fix and self.severity != Severity.OK:
            from labtools.provision.codes import CATALOG

            object.__setattr__(self, "fix", CATALOG[self.code].fix)

    @property
    def failed(self) -> bool:
        return self.severity == FAIL

    def as_error(self) -> EnvironmentBroken:
        text = self.summary + (f"\n{self.detail}" if self.detail else "")
        return EnvironmentBroken(f"[{self.code}] {text}", self.fix or None)


class Reporter(Protocol):
    """How steps tell the CLI (or a test) what they are doing. Steps never print."""

    def step_started(self, name: str, title: str) -> None: ...

    def step_finished(self, name: str, title: str, changed: bool | None, detail: str) -> None:
        """`changed`: True when the step did something, False when it was already done, None for a pure check."""

    # Optional, so not declared here: step_failed(name, title), called when the step raised (the error itself
    # reaches the caller as an exception).

    def waiting(self, message: str) -> None: ...

    def note(self, message: str) -> None: ...

    def finding(self, finding: Finding) -> None: ...


class SilentReporter:
    def step_started(self, name: str, title: str) -> None:
        pass

    def step_failed(self, name: str, title: str) -> None:
        pass

    def step_finished(self, name: str, title: str, changed: bool | None, detail: str) -> None:
        pass

    def waiting(self, message: str) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def finding(self, finding: Finding) -> None:
        pass


@dataclass
class RecordingReporter:
    """Keeps every event, in order; for tests and for callers that render afterwards."""

    events: list[tuple] = field(default_factory=list)

    def step_started(self, name: str, title: str) -> None:
        self.events.append(("started", name))

    def step_finished(self, name: str, title: str, changed: bool | None, detail: str) -> None:
        self.events.append(("finished", name, changed, detail))

    def step_failed(self, name: str, title: str) -> None:
        self.events.append(("failed", name))

    def waiting(self, message: str) -> None:
        self.events.append(("waiting", message))

    def note(self, message: str) -> None:
        self.events.append(("note", message))

    def finding(self, finding: Finding) -> None:
        self.events.append(("finding", finding.code, finding.severity))

    def finished(self) -> dict[str, bool | None]:
        """step name -> whether it changed anything (None for checks)."""
        return {e[1]: e[2] for e in self.events if e[0] == "finished"}
