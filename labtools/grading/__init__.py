"""Grading: labs declare checks; the runner runs them against evidence and returns one result model."""

from labtools.grading.checks import Check, Lab, Target, fail, skip
from labtools.grading.results import ERROR, FAIL, PASS, SKIP, CheckResult, LabResult
from labtools.grading.runner import Evidence, run_lab

__all__ = [
    "Check", "CheckResult", "ERROR", "Evidence", "FAIL", "Lab", "LabResult", "PASS", "SKIP", "Target",
    "fail", "run_lab", "skip",
]
