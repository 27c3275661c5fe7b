"""The learner's first hour in a real browser: run a lab, check wrong and right answers, reload, both themes."""

from __future__ import annotations

import re

import pytest

from tests.browser.notebook_page import NotebookPage

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

LAB04 = "04-traffic-split/lab.ipynb"
EXERCISE = "%%apply --save reviews.yaml"


def _score(text: str) -> str:
    found = re.search(r"(NOT PASSED|PASSED)\s*[·:]?\s*(\d+\s*/\s*\d+)?", text)
    return found.group(0) if found else text[:80]


def test_result_follows_every_click_even_after_reload(jupyter, page, artifacts):
    notebook = NotebookPage(page, jupyter, LAB04)
    notebook.open()
    notebook.run_all()
    first = notebook.result_text()
    assert "NOT PASSED" in first, f"the untouched starter must fail: {first[:300]}"

    right = (ROOT / "solutions/04-traffic-split/reviews.yaml").read_text()
    starter = (ROOT / "labs/04-traffic-split/exercise/reviews.yaml").read_text()
    notebook.set_cell(EXERCISE, f"{EXERCISE}\n{right}")
    passed, _ = notebook.click_check(previous=first)
    assert "PASSED" in passed and "NOT PASSED" not in passed, f"a right answer must pass: {passed[:300]}"

    notebook.save()
    notebook.reload()  # the kernel keeps running; the page is new
    assert "PASSED" in notebook.result_text()
    notebook.set_cell(EXERCISE, f"{EXERCISE}\n{starter}")
    failed, _ = notebook.click_check(previous=notebook.result_text())
    assert "NOT PASSED" in failed, f"after a reload the click must show the new, failing result: {failed[:300]}"

    notebook.set_cell(EXERCISE, f"{EXERCISE}\n{right}")
    again, _ = notebook.click_check(previous=failed)
    assert "NOT PASSED" not in again and "PASSED" in again, f"and the next right answer passes again: {again[:300]}"
