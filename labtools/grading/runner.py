"""Run a lab's checks in order, isolating each one, and collect a LabResult."""

from __future__ import annotations

import time
import traceback
from datetime import datetime, timezone
from typing import Any, Callable

from labtools import __version__
from labtools.errors import LabtoolsError
from labtools.grading.checks import Check, CheckFailed, CheckSkipped, Lab
from labtools.grading.results import ERROR, FAIL, PASS, SKIP, CheckResult, LabResult, Status


class Evidence:
    """What checks may ask for, built on first use: `factories` maps a parameter name to a zero-argument callable."""

    def __init__(self, factories: dict[str, Callable[[], Any]], live: bool, live_checks_skipped: str = ""):
        self.factories = factories
        self.live = live  # the evidence comes from a cluster (the result's mode is "live")
        # Why live checks do not run although the evidence is live (the workshop grades configuration only).
        self.live_checks_skipped = live_checks_skipped
        self._built: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        if name not in self._built:
            self._built[name] = self.factories[name]()
        return self._built[name]


def run_lab(lab: Lab, evidence: Evidence, namespace: str = "default", notes: list[str] | None = None) -> LabResult:
    started = time.perf_counter()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    results: dict[str, CheckResult] = {}
    for check in lab.checks:
        results[check.id] = _run_check(check, evidence, results)
    return LabResult(
        lab=lab.id,
        title=lab.title,
        mode="live" if evidence.live else "offline",
        checks=list(results.values()),
        started_at=started_at,
        duration_s=time.perf_counter() - started,
        namespace=namespace,
        notes=list(notes or []),
        labtools_version=__version__,
    )


def _run_check(check: Check, evidence: Evidence, done: dict[str, CheckResult]) -> CheckResult:
    target = evidence.get("target") if "target" in evidence.factories else None
    title = check.heading(target)

    def result(status: Status, message: str, hints: list[str] | None = None, counted: bool = True, detail: str = ""):
        return CheckResult(
            id=check.id, title=title, status=status, points=check.points, message=message,
            hints=hints if hints is not None else list(check.hints), live=check.live, counted=counted,
            duration_s=time.perf_counter() - started, detail=detail,
        )

    started = time.perf_counter()
    if check.live and not evidence.live:
        return result(SKIP, "Live check: it needs your cluster, so it is skipped when grading offline.", counted=False)
    if check.live and evidence.live_checks_skipped:
        return result(SKIP, evidence.live_checks_skipped, counted=False)
    unmet = [r.heading(target) for r in check.requires if done.get(r.id) is None or done[r.id].status != PASS]
    if unmet:
        return result(SKIP, "Waits for: " + "; ".join(unmet) + ".")
    missing = [name for name in check.parameters if name not in evidence.factories]
    if missing:
        return result(ERROR, f"This check needs {', '.join(missing)}, which this mode does not provide.")
    try:
        arguments = {name: evidence.get(name) for name in check.parameters}
        outcome = check.function(**arguments)
    except CheckFailed as failure:
        hints = ([failure.hint] if failure.hint else []) + ([] if failure.own_hints_only else list(check.hints))
        return result(FAIL, failure.message, hints)
    except CheckSkipped as skipped:
        return result(SKIP, skipped.message, counted=skipped.counted)
    except LabtoolsError as problem:
        hints = [problem.hint] if problem.hint else []
        return result(ERROR, problem.message, hints)
    except Exception:  # a bug in a check must not stop the others; the traceback goes into the detail
        return _internal_error(result, check)
    return result(PASS, outcome if isinstance(outcome, str) else "")


def _internal_error(result, check: Check) -> CheckResult:
    detail = traceback.format_exc()
    last = detail.strip().splitlines()[-1]
    return result(
        ERROR,
        f"The check itself crashed ({last}). This is a bug in labtools, not in your work.",
        ["Please report it with the output of --format json."],
        detail=detail,
    )
