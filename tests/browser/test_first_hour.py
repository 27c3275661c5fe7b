"""The learner's first hour in a real browser: run a lab, check wrong and right answers, reload, both themes."""

from __future__ import annotations

import re

import pytest

from tests.browser.notebook_page import NotebookPage

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

LAB04 = "04-traffic-split/04-traffic-split.ipynb"
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
    passed, _ = notebook.click_check()
    assert "PASSED" in passed and "NOT PASSED" not in passed, f"a right answer must pass: {passed[:300]}"

    notebook.save()
    notebook.reload()  # the kernel keeps running; the page is new
    assert "PASSED" in notebook.result_text()
    notebook.set_cell(EXERCISE, f"{EXERCISE}\n{starter}")
    failed, _ = notebook.click_check()
    assert "NOT PASSED" in failed, f"after a reload the click must show the new, failing result: {failed[:300]}"

    # typed, not run: the check grades the saved file, says which and when, and warns that the cell differs
    notebook.set_cell(EXERCISE, f"{EXERCISE}\n{right}", run=False)
    stale, _ = notebook.click_check()
    assert re.search(r"Graded exercise/reviews\.yaml, saved \d\d:\d\d:\d\d", stale) and "NOT PASSED" in stale
    warning = notebook.check_cell().locator(".lt-differs").last
    assert warning.is_visible(), "the page warns that the exercise cell differs from the graded file"
    notebook.run_cell(EXERCISE)
    again, _ = notebook.click_check()
    assert "NOT PASSED" not in again and "PASSED" in again, f"and the next right answer passes again: {again[:300]}"
    assert not notebook.check_cell().locator(".lt-differs").last.is_visible()

    notebook.reopen()  # a closed and reopened notebook: the button still redraws its own result
    notebook.set_cell(EXERCISE, f"{EXERCISE}\n{starter}")
    reopened, _ = notebook.click_check()
    assert "NOT PASSED" in reopened, f"after reopening, the click shows the new result: {reopened[:300]}"


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_screenshots_of_labs_04_and_09(theme, jupyter, page, artifacts):
    """Labs 04 and 09 run top to bottom without an error in each theme; screenshots are kept as artefacts, with the
    first hour's timings (notebook open, check click)."""
    jupyter.set_theme(theme)
    timings: dict = {"jupyterlab_start_s": round(jupyter.start_s, 2)}
    for lab, picture in (("04-traffic-split", "lab.routes("), ("09-circuit-breaking", "in_flight_at_once(3)")):
        notebook = NotebookPage(page, jupyter, f"{lab}/{lab}.ipynb")
        opened = notebook.open()
        notebook.run_all()
        assert not page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count()
        first = notebook.result_text()
        text, clicked = notebook.click_check()
        differs = notebook.check_cell().locator(".lt-differs").last
        assert differs.count() and not differs.is_visible(), "after Run All the exercise cell is what was graded"
        timings[lab] = {"open_s": round(opened, 2), "check_click_s": round(clicked, 2)}
        name = f"{lab}-{theme.split()[-1].lower()}"
        page.evaluate("document.querySelector('.jp-WindowedPanel-outer').scrollTo(0, 0)")
        page.screenshot(path=str(artifacts / f"{name}-top.png"))
        notebook.check_cell().screenshot(path=str(artifacts / f"{name}-check.png"))
        notebook.cell(picture).screenshot(path=str(artifacts / f"{name}-picture.png"))
        assert first and text, "the check cell shows a result"
        if lab.startswith("09"):  # the in-flight picture of a right answer: one request each way, in order
            solution = (ROOT / "solutions/09-circuit-breaking/httpbin.yaml").read_text()
            notebook.set_cell("%%apply --save httpbin.yaml", f"%%apply --save httpbin.yaml\n{solution}")
            notebook.run_cell(picture)
            shown = notebook.cell(picture).locator(".lt-split")
            rows = [" ".join(" ".join(r.locator("td").all_text_contents()).split()) for r in shown.locator("tr").all()]
            assert rows == ["sent to httpbin 1 of 3 requests", "wait for a connection 1 of 3 requests",
                            "get 503 at once (UO) 1 of 3 requests"], rows
            notebook.cell(picture).screenshot(path=str(artifacts / f"{name}-picture-solved.png"))
    (artifacts / f"timings-{theme.split()[-1].lower()}.json").write_text(__import__("json").dumps(timings, indent=1))
    print(theme, timings)


def test_the_launcher_opens_the_dashboards_through_jupyterlab(jupyter, page, artifacts):
    pytest.importorskip("jupyter_server_proxy", reason="jupyter-server-proxy (the notebook extra) serves the dashboards")
    NotebookPage(page, jupyter, "00-setup/00-setup.ipynb").open()
    page.evaluate("window.jupyterapp.commands.execute('launcher:create')")
    section = page.locator(".jp-Launcher-section", has=page.locator(".jp-Launcher-sectionTitle", has_text="Istio labs"))
    section.wait_for()
    titles = sorted(" ".join(t.split()) for t in section.locator(".jp-LauncherCard-label").all_text_contents())
    page.screenshot(path=str(artifacts / "launcher.png"))
    assert [t.replace("[↗]", "").strip() for t in titles] == ["Grafana", "Kiali", "Prometheus"], titles  # ↗: new tab
