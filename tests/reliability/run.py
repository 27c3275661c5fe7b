"""Running `labtools` as a user does: a subprocess, its exit code, its output, how long it took and its peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# `python -m labtools ARGS`, which also writes its peak resident memory (KiB) to a file when it exits. VmHWM
# belongs to the process's own memory; ru_maxrss would carry over the test runner's size from before the exec.
_LAUNCHER = (
    "import atexit, re, runpy, sys\n"
    "report = sys.argv.pop(1)\n"
    "def peak():\n"
    "    status = open('/proc/self/status').read()\n"
    "    open(report, 'w').write(re.search(r'VmHWM:\\s*(\\d+)', status).group(1))\n"
    "atexit.register(peak)\n"
    "sys.argv[0] = 'labtools'\n"
    "runpy.run_module('labtools', run_name='__main__', alter_sys=True)\n"
)


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_kib: int  # 0 where /proc is missing (not Linux)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def labtools(*args: str, env: dict | None = None, stdin: str | None = None, cwd: Path = ROOT, kill_after: float = 120,
             **popen) -> Ran:
    """Run the command; kill it and fail after `kill_after` s, so that a hang cannot hang the test run."""
    with tempfile.TemporaryDirectory() as folder:
        report = os.path.join(folder, "peak")
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-c", _LAUNCHER, report, *args], cwd=cwd, text=True,
                                   stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env={**os.environ, "COLUMNS": "120", **(env or {})}, **popen)
        try:
            stdout, stderr = process.communicate(stdin, timeout=kill_after)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            raise AssertionError(f"labtools {' '.join(args)} still ran after {kill_after} s (a hang):\n{stdout}\n{stderr}")
        seconds = time.monotonic() - started
        try:
            peak = int(Path(report).read_text() or 0)
        except (OSError, ValueError):
            peak = 0
    return Ran(process.returncode, stdout, stderr, seconds, peak)


def clean_failure(ran: Ran, code: int, *phrases: str) -> None:
    """Exit `code`, no traceback, and each phrase in the error output."""
    assert ran.returncode == code, ran.output
    assert "Traceback" not in ran.output, ran.output
    for phrase in phrases:
        assert phrase in ran.stderr, ran.output
