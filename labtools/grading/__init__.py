"""Grading: labs declare checks; the runner runs them against evidence and returns one result model."""

from typing import TYPE_CHECKING, Any

from labtools.grading.checks import Check, Lab, Target, fail, skip
from labtools.grading.results import ERROR, FAIL, PASS, SKIP, CheckResult, LabResult
from labtools.grading.runner import Evidence, run_lab
from labtools.grading.sources import Files, Live, grade

if TYPE_CHECKING:
    from labtools.kube import ClusterAPI

__all__ = [
    "Check", "CheckResult", "ClusterAPI", "ERROR", "Evidence", "FAIL", "Files", "Lab", "LabResult", "Live", "PASS",
    "SKIP", "Target", "fail", "grade", "run_lab", "skip",
]


def __getattr__(name: str) -> Any:
    if name == "ClusterAPI":  # the type of a check's `cluster`; labtools.kube is imported only when a lab asks
        from labtools.kube import ClusterAPI

        return ClusterAPI
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
