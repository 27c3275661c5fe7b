"""Real JupyterLab in Debian's Chromium, driven by Playwright (the PyPI package, never `playwright install`).

One JupyterLab per module, on 127.0.0.1 with a token and a free port, serving a temporary copy of the labs, with
its own settings, workspaces and labtools state. Screenshots go to tests/browser/artifacts/ (git ignores it).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from labtools.cli.jupyter import plan

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("LABTOOLS_BROWSER_ARTIFACTS", Path(__file__).parent / "artifacts"))
CHROMIUM = os.environ.get("LABTOOLS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
START_DEADLINE = 60.0


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright; its browser download is not used)"
    if not Path(CHROMIUM).is_file():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set LABTOOLS_CHROMIUM)"
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        return "JupyterLab is not installed (the notebook extra)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _missing()
    for item in items:
        if "browser" not in item.keywords:
            continue
        # one xdist worker runs them all (--dist loadgroup): one JupyterLab and one Chromium, not one per worker
        item.add_marker(pytest.mark.xdist_group("browser"))
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=f"browser test skipped: {reason}"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterLab:
    def __init__(self, base: Path):
        self.base = base
        self.labs = base / "labs"
        self.home = base / "home"
        self.settings = base / "settings"
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "KUBECONFIG"))}
        env.update(
            PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
            LABTOOLS_LABS=str(self.labs), LABTOOLS_HOME=str(self.home),
            LABTOOLS_CACHE=os.environ.get("LABTOOLS_CACHE", str(self.base / "cache")),
            KUBECONFIG=str(self.base / "no-kubeconfig"),  # offline: no cluster answers
            JUPYTERLAB_SETTINGS_DIR=str(self.settings), JUPYTERLAB_WORKSPACES_DIR=str(self.base / "workspaces"),
            JUPYTER_CONFIG_DIR=str(self.base / "jupyter-config"), JUPYTER_RUNTIME_DIR=str(self.base / "runtime"),
        )
        return env

    def start(self) -> "JupyterLab":
        shutil.copytree(ROOT / "labs", self.labs, ignore=shutil.ignore_patterns(".work", ".ipynb_checkpoints"))
        # No news or update pop-ups over the notebook (a test's own choice; learners keep theirs).
        notifications = self.settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        notifications.parent.mkdir(parents=True, exist_ok=True)
        notifications.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        # Started as `labtools start` starts it, but on a free port and without opening a browser.
        launch = plan(self.labs, self.base / "app-settings", port=self.port, token=self.token, open_browser=False,
                      as_root=True)
        self.first_url = launch.url
        # The test drives JupyterLab's own commands (window.jupyterapp) rather than hunting for menu items.
        command = [sys.executable, "-m", "jupyter", *launch.command[1:], "--LabApp.expose_app_in_browser=True"]
        self.log = open(self.base / "jupyter.log", "wb")
        self.process = subprocess.Popen(command, env={**self.env(), **launch.env}, stdout=self.log,
                                        stderr=subprocess.STDOUT, cwd=self.base)
        began = time.monotonic()
        deadline = began + START_DEADLINE
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited: {(self.base / 'jupyter.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2):
                    self.start_s = time.monotonic() - began  # JupyterLab answering, as after `labtools start`
                    return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"JupyterLab did not answer in {START_DEADLINE:.0f} s")

    def set_theme(self, theme: str) -> None:
        """'JupyterLab Light' or 'JupyterLab Dark', through JupyterLab's settings API (applies on the next load)."""
        body = json.dumps({"raw": json.dumps({"theme": theme})}).encode()
        request = urllib.request.Request(
            f"{self.url}/lab/api/settings/@jupyterlab/apputils-extension:themes?token={self.token}",
            data=body, method="PUT", headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10).close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()


@pytest.fixture(scope="module")
def jupyter():
    # Its own temporary folder, not pytest's: other pytest runs on the machine prune pytest's old base folders.
    with tempfile.TemporaryDirectory(prefix="labtools-browser-") as base:
        server = JupyterLab(Path(base)).start()
        yield server
        server.stop()


@pytest.fixture(scope="module")
def browser_context():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="labtools-chromium-") as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 1000})
        context.set_default_timeout(30_000)
        yield context
        context.close()


@pytest.fixture
def page(browser_context):
    page = browser_context.new_page()
    yield page
    page.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    page = item.funcargs.get("page") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and page is not None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        try:
            page.screenshot(path=str(ARTIFACTS / f"failed-{item.name}.png"), full_page=True)
        except Exception:  # the page may be gone; the failure itself is what matters
            pass
