"""What a learner does in JupyterLab, as Playwright steps: open a notebook, run all, edit a cell, click, reload."""

from __future__ import annotations

import time

from playwright.sync_api import Locator, Page

RUN_DEADLINE_MS = 45_000


class NotebookPage:
    def __init__(self, page: Page, jupyter, path: str):
        self.page, self.jupyter, self.path = page, jupyter, path

    def open(self) -> float:
        """Open the notebook and wait until its kernel is idle; returns the seconds it took."""
        started = time.monotonic()
        self.page.goto(f"{self.jupyter.url}/lab/tree/{self.path}?token={self.jupyter.token}&reset")
        self.page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=RUN_DEADLINE_MS)
        self.wait_idle()
        return time.monotonic() - started

    def wait_idle(self) -> None:
        self.page.wait_for_function(
            """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                       const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
                       return k && k.connectionStatus === 'connected' && k.status === 'idle'; }""",
            timeout=RUN_DEADLINE_MS)
        self.page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=RUN_DEADLINE_MS)

    def run_all(self) -> None:
        prompts = "[...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent)"
        self.page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget")
        self.page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        # every code cell has run once its prompt shows a number
        self.page.wait_for_function(f"() => {{ const p = {prompts}; return p.length > 0 && p.every(t => /\\[\\d+\\]/.test(t)); }}",
                                    timeout=RUN_DEADLINE_MS)
        self.wait_idle()

    def cell(self, starts_with: str) -> Locator:
        return self.page.locator(".jp-CodeCell").filter(
            has=self.page.locator(".cm-content", has_text=starts_with)).first

    def set_cell(self, starts_with: str, text: str, run: bool = True) -> None:
        """Replace a code cell's text as a learner pasting it would, and run it (Ctrl+Enter) unless told not to."""
        editor = self.cell(starts_with).locator(".cm-content")
        editor.click()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.insert_text(text)
        if run:
            self.page.keyboard.press("Control+Enter")
            self.page.wait_for_timeout(200)
            self.wait_idle()

    def run_cell(self, starts_with: str) -> None:
        self.cell(starts_with).locator(".cm-content").click()
        self.page.keyboard.press("Control+Enter")
        self.page.wait_for_timeout(200)
        self.wait_idle()

    def check_cell(self) -> Locator:
        return self.page.locator(".jp-CodeCell").filter(has=self.page.get_by_role("button", name="Check my work"))

    def click_check(self) -> tuple[str, float]:
        """Click "Check my work"; returns the visible result once the page shows this click's run, and the time."""
        cell = self.check_cell()
        cell.scroll_into_view_if_needed()
        result = cell.locator(".lt-check").last
        before = result.get_attribute("data-run") if result.count() else None
        started = time.monotonic()
        cell.get_by_role("button", name="Check my work").click()
        deadline = started + 20
        while time.monotonic() < deadline:
            if result.count() and result.get_attribute("data-run") != before:
                return _text(result), time.monotonic() - started
            self.page.wait_for_timeout(20)
        return (_text(result) if result.count() else ""), time.monotonic() - started

    def result_text(self) -> str:
        result = self.check_cell().locator(".lt-check").last
        try:  # after a reload the widget is drawn once JupyterLab has its state from the kernel
            result.wait_for(state="attached", timeout=15_000)
        except Exception:
            return ""
        return _text(result) if result.count() else ""

    def save(self) -> None:
        self.page.keyboard.press("Control+s")
        self.page.wait_for_timeout(500)

    def reopen(self) -> None:
        """Close the notebook's tab and open it again in the same page (the kernel keeps running)."""
        self.save()
        self.page.evaluate("window.jupyterapp.commands.execute('application:close-all')")
        self.page.wait_for_selector(".jp-Notebook", state="detached")
        self.page.evaluate(f"window.jupyterapp.commands.execute('docmanager:open', {{path: {self.path!r}}})")
        self.page.wait_for_selector(".jp-Notebook .jp-Cell")
        self.wait_idle()

    def reload(self) -> None:
        self.page.reload()
        self.page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=RUN_DEADLINE_MS)
        self.wait_idle()


def _text(locator: Locator) -> str:
    """The text of an element, rendered or not (JupyterLab skips rendering cells out of view)."""
    return " ".join((locator.text_content() or "").split())
