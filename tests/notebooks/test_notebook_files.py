"""The committed notebooks: clean (no outputs), long enough to teach, built the way the conventions say.

These read files only; tests/notebooks/test_notebook_runs.py executes the notebooks.
"""

from __future__ import annotations

import re

import pytest

from labtools.grading.catalog import load_lab
from labtools.grading.offline import grade_files
from labtools.notebook.clean import dirty_cells, strip
from tests.notebooks.nbtools import LABS, NOTEBOOKS, exercise_cells, lab_id, read, teaching_words
from tests.conftest import HAVE_CRDS

MIN_WORDS = 600
IDS = [lab_id(p) for p in NOTEBOOKS]


def test_every_lab_with_a_notebook_is_a_lab():
    assert NOTEBOOKS, "no lab notebooks found"
    for path in NOTEBOOKS:
        assert (path.parent / "checks.py").is_file(), f"{path} sits in a folder without checks.py"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_without_outputs(path):
    notebook = read(path)
    dirty = dirty_cells(notebook)
    assert not dirty, (f"{path} is committed with outputs or execution counts in cells {dirty}; "
                       f"run: python -m labtools.notebook.clean {path.relative_to(LABS.parent)}")
    assert "widgets" not in notebook.metadata, f"{path} carries widget state; strip it with labtools.notebook.clean"


def test_the_clean_test_catches_outputs():
    """A notebook with an output or an execution count is reported, and strip() fixes it."""
    notebook = read(NOTEBOOKS[0])
    code = next(c for c in notebook.cells if c.cell_type == "code")
    code.execution_count = 3
    code.outputs = [{"output_type": "stream", "name": "stdout", "text": "hello"}]
    index = notebook.cells.index(code)
    assert dirty_cells(notebook) == [index]
    assert strip(notebook) is True
    assert dirty_cells(notebook) == [] and code.outputs == [] and code.execution_count is None
    assert strip(notebook) is False


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_teaches_at_least_600_words(path):
    words = teaching_words(read(path))
    assert words >= MIN_WORDS, f"{path}: {words} words of markdown outside code blocks, fewer than {MIN_WORDS}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_follows_the_cell_conventions(path):
    notebook = read(path)
    code = [c.source for c in notebook.cells if c.cell_type == "code"]
    number = lab_id(path).split("-")[0]
    assert re.search(rf'open_lab\("{number}"\)', code[0]) and "lab.prerequisites(" in code[0], (
        f"{path}: the first code cell must open the lab with open_lab(\"{number}\") and call lab.prerequisites()")
    assert any("check_button()" in c or "check()" in c for c in code), f"{path}: no check cell"
    assert any("kiali_link()" in c for c in code), f"{path}: no Kiali link"
    headings = [line for c in notebook.cells if c.cell_type == "markdown" for line in c.source.splitlines()
                if line.startswith("#")]
    assert headings and headings[0].startswith("# Lab "), f"{path}: the first heading must be '# Lab NN · Title'"
    for wanted in ("Classic mistakes", "Recap", "Kiali"):
        assert any(wanted in h for h in headings), f"{path}: no '{wanted}' heading"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_cells_import_only_public_names(path):
    """Lab cells use the packages' public faces (labtools.notebook, labtools.probes...), not their private parts."""
    code = "\n".join(c.source for c in read(path).cells if c.cell_type == "code")
    private = re.findall(r"^\s*(?:from|import) (labtools\.\w+\.[\w.]+)", code, flags=re.M)
    assert not private, f"{path}: cells import from submodules {private}; import the names from their package"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_exercise_cells_match_their_starter_files(path):
    cells = exercise_cells(read(path))
    assert cells, f"{path}: no exercise cell (%%apply --save FILE)"
    for filename, body in cells:
        starter = path.parent / "exercise" / filename
        assert starter.is_file(), f"{path}: the exercise cell saves {filename}, but {starter} is not committed"
        assert starter.read_text() == body.rstrip("\n") + "\n", (
            f"{path}: the exercise cell and {starter} differ; the starter must be the same text in both places")
        assert "TODO" in body, f"{path}: the starter {filename} has no TODO for the learner"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_starter_files_fail_the_checks(path):
    lab = load_lab(lab_id(path))
    if not any(not check.live for check in lab.checks):
        pytest.skip(f"{lab.id} has only live checks (it is graded on a cluster), so a starter cannot be graded offline")
    result = grade_files(lab, [path.parent / "exercise"])
    assert not result.passed, f"{lab.id}: the starter files pass the lab's checks; a starter must leave work to do"
    assert result.count("error") == 0, [c.message for c in result.checks if c.status == "error"]
    validity = [c for c in result.checks if c.id == "objects_are_valid"]
    expected = "pass" if HAVE_CRDS else "skip"  # without Istio's schemas nothing can be validated
    assert all(c.status == expected for c in validity), f"{lab.id}: the starter should be valid: {validity[0].message}"


def test_every_lab_has_one_notebook_named_after_it():
    """Three open labs are three distinct tabs: labs/<id>/<id>.ipynb, and no other notebook beside it."""
    for folder in sorted(p for p in LABS.iterdir() if (p / "checks.py").is_file()):
        notebooks = sorted(p.name for p in folder.glob("*.ipynb"))
        assert notebooks == [f"{folder.name}.ipynb"], f"{folder}: {notebooks}"
