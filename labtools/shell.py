"""The only place labtools runs other programs (kind, istioctl, docker, jupyter, a web browser).

Arguments are always a list (never a shell string), every call has a timeout, and failures become errors the CLI
can explain: `ToolNotFound` says how to install the tool, `CommandFailed` carries the end of its error output.
"""

from __future__ import annotations

import os
import shutil
import sys
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from labtools.errors import EnvironmentBroken

# How to get each tool we call, shown when it is missing.
INSTALL_HINTS = {
    "docker": "Install Docker (Docker Desktop on macOS/Windows, Docker Engine on Linux): https://docs.docker.com/get-docker/",
    "kind": "Install kind v0.33.0 or newer: https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    "istioctl": "Run `labtools up`: it downloads istioctl with the Istio release it installs.",
    "kubectl": "Install kubectl: https://kubernetes.io/docs/tasks/tools/",
    "jupyter": "Install the notebook extra: pip install 'labtools[notebook]'",
}
STDERR_LINES = 12
GRACE_S = 3  # a stopped tool's time to exit on SIGTERM before SIGKILL


@dataclass(frozen=True)
class Completed:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """stdout and stderr together: tools such as kind and istioctl print their progress and errors on stderr."""
        return "\n".join(part for part in (self.stdout, self.stderr) if part)


class ToolNotFound(EnvironmentBroken):
    def __init__(self, tool: str):
        super().__init__(f"`{tool}` is not installed (not found on PATH).", INSTALL_HINTS.get(tool))
        self.tool = tool


class CommandFailed(EnvironmentBroken):
    """A tool ran and failed (or ran out of time). `result` holds everything it printed."""

    def __init__(self, result: Completed, message: str | None = None, hint: str | None = None):
        self.result = result
        tail = last_lines(result.stderr or result.stdout)
        text = message or f"`{' '.join(result.args[:3])}` failed (exit code {result.returncode})."
        super().__init__(f"{text}\n{tail}" if tail else text, hint)


def last_lines(text: str, count: int = STDERR_LINES) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    return "\n".join("  " + line for line in lines[-count:])


def which(tool: str) -> str | None:
    """The tool on PATH, else the one installed next to this Python (a virtualenv used without activating it,
    as in the README's `.venv/bin/labtools up`, still finds its own `jupyter`)."""
    return shutil.which(tool) or shutil.which(tool, path=os.path.dirname(sys.executable))


def run(
    args: Sequence[str | os.PathLike[str]],
    timeout: float = 60,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    check: bool = True,
    cwd: Path | None = None,
) -> Completed:
    """Run a program and capture its output. `env` adds to (not replaces) the current environment."""
    argv = [os.fspath(a) for a in args]
    executable = _executable(argv[0])
    try:
        # Its own process group, so that a timeout ends what it started too (kind runs docker, istioctl helpers).
        process = subprocess.Popen(
            [executable, *argv[1:]],
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            env=_environment(env),
            cwd=cwd,
            start_new_session=True,
        )
    except PermissionError:
        raise EnvironmentBroken(f"`{argv[0]}` cannot be run: permission denied ({executable}).") from None
    try:
        stdout, stderr = process.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        stdout, stderr = _stop_group(process)
        result = Completed(argv, -1, _text(stdout), _text(stderr))
        raise CommandFailed(result, f"`{' '.join(argv[:3])}` did not finish within {timeout:g} s; it was stopped "
                                    "with everything it started.") from None
    except BaseException:  # Ctrl-C, a command deadline: leave nothing running behind
        _stop_group(process)
        raise
    result = Completed(argv, process.returncode, stdout, stderr)
    if check and result.returncode != 0:
        raise CommandFailed(result)
    return result


def _stop_group(process: subprocess.Popen) -> tuple[str, str]:
    """End a process and every process in its group (SIGTERM, then SIGKILL after a grace period); what it printed."""
    import signal

    for sig, grace in ((signal.SIGTERM, GRACE_S), (signal.SIGKILL, GRACE_S)):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            return process.communicate(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
    process.kill()
    return "", ""


def run_attached(args: Sequence[str | os.PathLike[str]], env: Mapping[str, str] | None = None, cwd: Path | None = None) -> int:
    """Run a long-lived program in the foreground (its output goes straight to the terminal); returns its exit code.

    Used for JupyterLab, which runs until the user stops it with Ctrl-C.
    """
    argv = [os.fspath(a) for a in args]
    executable = _executable(argv[0])
    try:
        return subprocess.call([executable, *argv[1:]], env=_environment(env), cwd=cwd)
    except KeyboardInterrupt:
        return 130


def open_in_browser(url: str) -> bool:
    """Open a URL in the user's browser; False where no browser can be started (e.g. over SSH)."""
    import webbrowser

    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False


def _executable(program: str) -> str:
    """A program given by path, if it can be run; otherwise the one `which` finds. ToolNotFound where neither."""
    executable = which(program) if os.sep not in program else program
    if executable is None or (os.sep in program and not os.access(program, os.X_OK)):
        raise ToolNotFound(Path(program).name)
    return executable


def _environment(env: Mapping[str, str] | None) -> dict[str, str] | None:
    return {**os.environ, **env} if env else None


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")
