"""Grade YAML texts against a lab, offline, the way `labtools check LAB --offline FILES` does."""

from __future__ import annotations

from pathlib import Path

import pytest

from labtools import settings
from labtools.grading.catalog import load_lab
from labtools.grading.offline import grade_files


def solution_text(lab_id: str) -> str:
    folder = settings.solutions_dir() / lab_id
    return "\n---\n".join(p.read_text() for p in sorted(folder.glob("*.yaml")))


def changed(text: str, old: str, new: str, count: int = -1) -> str:
    """`text` with `old` replaced by `new`, asserting that `old` is there: a mutation of a reformatted solution must
    fail loudly, not grade the unchanged text."""
    assert old in text, f"the text to change is not there: {old!r}"
    return text.replace(old, new, count)


@pytest.fixture
def grade(tmp_path: Path):
    def run(lab_id: str, *texts: str):
        paths = []
        for index, text in enumerate(texts):
            path = tmp_path / f"submission-{index}.yaml"
            path.write_text(text)
            paths.append(path)
        return grade_files(load_lab(lab_id), paths)

    return run


def status_of(result, check_id: str):
    return next(c for c in result.checks if c.id == check_id)


def assert_fails(result, check_id: str, *fragments: str):
    """The named check fails and its message (or a hint) names the problem."""
    check = status_of(result, check_id)
    assert check.status == "fail", f"{check_id} should fail but is {check.status}: {check.message}"
    text = " ".join([check.message] + check.hints)
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in feedback of {check_id}: {text}"
    assert not result.passed


def assert_passes(result):
    bad = [(c.id, c.status, c.message) for c in result.checks if c.status in ("fail", "error")]
    assert not bad, bad
    assert result.passed
