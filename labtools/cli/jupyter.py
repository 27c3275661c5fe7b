"""How labtools starts JupyterLab: on the labs folder, opening lab 00, on a port and token of our own so that the
URL can be printed in our own banner instead of being buried in Jupyter's log."""

from __future__ import annotations

import json
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path

FIRST_LAB = "00-setup"
PREFERRED_PORT = 8888
# JupyterLab 4.6 asks which kernel to start each time a notebook opens unless this is on (its schema
# @jupyterlab/notebook-extension:tracker, autoStartDefaultKernel, default false): every lab uses the one Python kernel,
# so the dialog is a question with one answer. Defaults are overridden by <app_settings_dir>/overrides.json
# (jupyterlab_server settings_utils._get_overrides); labtools points app_settings_dir at a folder of its own.
SETTING_OVERRIDES = {"@jupyterlab/notebook-extension:tracker": {"autoStartDefaultKernel": True}}


def lab_notebook(lab_id: str) -> str:
    """A lab's notebook, relative to the labs folder: named after its lab, so open labs have tabs of their own."""
    return f"{lab_id}/{lab_id}.ipynb"


@dataclass
class Launch:
    """The command that starts JupyterLab, the environment it needs, and the URL that opens the first lab."""

    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    url: str = ""
    port: int = 0


def free_port(preferred: int = PREFERRED_PORT) -> int:
    """`preferred` when nothing listens on it, else any free port."""
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise OSError("no free port on 127.0.0.1")


def plan(labs: Path, settings_dir: Path, port: int | None = None, token: str | None = None,
         open_browser: bool = True, as_root: bool = False, first_lab: str = FIRST_LAB) -> Launch:
    """The JupyterLab to start; writes its setting overrides into `settings_dir` (a folder labtools owns)."""
    port = port or free_port()
    token = token or secrets.token_hex(24)
    settings_dir.mkdir(parents=True, exist_ok=True)
    (settings_dir / "overrides.json").write_text(json.dumps(SETTING_OVERRIDES, indent=1) + "\n", encoding="utf-8")
    notebook = lab_notebook(first_lab)
    command = ["jupyter", "lab", "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
               f"--ServerApp.root_dir={labs}", f"--ServerApp.default_url=/lab/tree/{notebook}",
               f"--LabApp.app_settings_dir={settings_dir}", "--ServerApp.log_level=WARN"]
    if not open_browser:
        command.append("--no-browser")
    if as_root:
        # JupyterLab refuses to start as root without this ("Running as root is not recommended"); learners in a
        # container or a root shell (WSL, cloud VMs) would otherwise get no lab at all.
        command.append("--allow-root")
    # The token goes through the environment: a command line is visible to every user of the machine (ps).
    return Launch(command, {"JUPYTER_TOKEN": token}, f"http://127.0.0.1:{port}/lab/tree/{notebook}?token={token}", port)
