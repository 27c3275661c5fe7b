"""Every lab notebook runs top to bottom in a real python3 kernel, here: with no cluster and no Docker.

Cells that need a cluster must skip cleanly and say why; the check cell must answer in place. Each notebook runs in
a scratch copy of labs/ (its exercise cell writes the answer file), with the state folders of tests/conftest.py.
"""

from __future__ import annotations

import pytest

from labtools import settings
from tests.notebooks.nbtools import (NOTEBOOKS, errors, execute, lab_id, notebook_file, outputs_html, outputs_text, read,
                                     save_target)

pytestmark = pytest.mark.notebook
IDS = [lab_id(p) for p in NOTEBOOKS]
# Calls that need a live cluster: without one each must render a skip notice that says why.
LIVE_CALLS = ("lab.traffic(", "lab.sidecars(", "lab.setup_cluster(", "lab.live(")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_runs_top_to_bottom_without_a_cluster(path, labs):
    notebook = execute(labs / lab_id(path) / notebook_file(lab_id(path)))
    assert not errors(notebook), errors(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]

    first = code[0]
    assert 'class="lt-report"' in outputs_html(first), "the prerequisites cell shows no report"
    assert "Offline mode" in outputs_text(first) or "No cluster yet" in outputs_text(first)

    for cell in code:
        if any(call in cell.source for call in LIVE_CALLS):
            html = outputs_html(cell)
            assert "lt-skip" in html and "Skipped" in html, f"live cell did not skip cleanly: {cell.source!r}"

    checks = [c for c in code if "check_button()" in c.source or "check()" in c.source]
    assert checks and all('class="lt-check"' in outputs_html(c) for c in checks), "the check cell did not answer"

    for cell in code:
        if cell.source.startswith("%%apply"):
            assert 'class="lt-notice' in outputs_html(cell), f"the exercise cell showed nothing: {cell.source[:60]!r}"
            assert "lt-error" not in outputs_html(cell), outputs_text(cell)


def _with_solutions(path):
    """The notebook with each exercise cell's body replaced by the reference solution file of the same name."""
    notebook = read(path)
    solutions = settings.solutions_dir() / lab_id(path)
    replaced = 0
    for cell in notebook.cells:
        target = save_target(cell)
        if target and (solutions / target[0]).is_file():
            cell.source = cell.source.partition("\n")[0] + "\n" + (solutions / target[0]).read_text()
            replaced += 1
    return notebook, replaced


SOLVABLE = [p for p in NOTEBOOKS if _with_solutions(p)[1]]


@pytest.mark.parametrize("path", SOLVABLE, ids=[lab_id(p) for p in SOLVABLE])
def test_the_reference_answer_passes_in_the_notebook(path, labs):
    """Type the solution into the exercise cell, run everything: the check cell reports a pass."""
    import nbformat

    notebook, _ = _with_solutions(path)
    target = labs / lab_id(path) / notebook_file(lab_id(path))
    nbformat.write(notebook, target)
    executed = execute(target)
    assert not errors(executed), errors(executed)
    checks = [c for c in executed.cells if c.cell_type == "code" and "check_button()" in c.source]
    html = outputs_html(checks[0])
    assert 'data-passed="true"' in html and "PASSED" in html, outputs_text(checks[0])
