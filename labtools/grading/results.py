"""The result model: one object per check and per lab, rendered by labtools.grading.report in every format."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """A check's outcome. A learner's mistake fails; a broken environment is an error; skip steps aside."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"


PASS, FAIL, SKIP, ERROR = Status.PASS, Status.FAIL, Status.SKIP, Status.ERROR
STATUSES = tuple(Status)


@dataclass
class CheckResult:
    id: str
    title: str
    status: Status
    points: int
    message: str = ""
    hints: list[str] = field(default_factory=list)
    live: bool = False
    # False for a check that could not run in this mode (a live check offline): it is left out of max_score.
    counted: bool = True
    duration_s: float = 0.0
    detail: str = ""  # e.g. the traceback of an internal error, for bug reports

    @property
    def earned(self) -> int:
        return self.points if self.status == PASS else 0

    @property
    def hint(self) -> str:
        return self.hints[0] if self.hints else ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(earned=self.earned, hint=self.hint)
        return data


@dataclass
class LabResult:
    lab: str
    title: str
    mode: str  # "offline" or "live"
    checks: list[CheckResult]
    started_at: str = ""
    duration_s: float = 0.0
    namespace: str = "default"
    notes: list[str] = field(default_factory=list)
    labtools_version: str = ""

    @property
    def score(self) -> int:
        return sum(c.earned for c in self.checks if c.counted)

    @property
    def max_score(self) -> int:
        return sum(c.points for c in self.checks if c.counted)

    @property
    def passed(self) -> bool:
        return not any(c.status in (FAIL, ERROR) for c in self.checks)

    def count(self, status: str) -> int:
        return sum(1 for c in self.checks if c.status == status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lab": self.lab,
            "title": self.title,
            "mode": self.mode,
            "passed": self.passed,
            "score": self.score,
            "max_score": self.max_score,
            "namespace": self.namespace,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "labtools_version": self.labtools_version,
            "notes": self.notes,
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LabResult":
        fields = CheckResult.__dataclass_fields__
        checks = [CheckResult(**{k: v for k, v in c.items() if k in fields}) for c in data.get("checks", [])]
        own = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "checks"}
        return cls(checks=checks, **own)
