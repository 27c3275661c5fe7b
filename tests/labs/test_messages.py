"""No feedback shows a Python value: every message and hint reads as prose, whatever line a learner leaves out."""

from __future__ import annotations

import re

import pytest

from labtools.errors import LabtoolsError
from labtools.grading.catalog import lab_ids
from tests.labs.conftest import solution_text

# None, a dict or a list printed by Python: {'a': ...}, ['a', ...], or the word None/True/False on its own.
PYTHON_VALUE = re.compile(r"\{'|\['|\bNone\b|\bTrue\b|\bFalse\b")
LABS = [lab_id for lab_id in lab_ids() if lab_id != "00-setup"]


@pytest.mark.parametrize("lab_id", LABS)
def test_no_python_values_in_feedback_when_a_line_is_missing(grade, lab_id):
    lines = solution_text(lab_id).splitlines(keepends=True)
    seen = 0
    for index, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith(("#", "---", "apiVersion", "kind")):
            continue
        try:
            result = grade(lab_id, "".join(lines[:index] + lines[index + 1:]))
        except LabtoolsError:
            continue  # the submission no longer parses: that error is the reader's, not a check's
        seen += 1
        for check in result.checks:
            for text in [check.message, *check.hints]:
                assert not PYTHON_VALUE.search(text), f"{lab_id} without line {index + 1} ({line.strip()}): {check.id}: {text}"
        for note in result.notes:
            assert not PYTHON_VALUE.search(note), note
    assert seen > 3
