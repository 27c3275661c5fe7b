"""The instructor commands as a user runs them (a new process): no cluster or Docker is exit 3, bad usage exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CASES = [
    # (arguments, exit code, what stderr says)
    (["reset", "04"], 3, "No lab cluster"),
    (["solve", "04", "--yes"], 3, "No lab cluster"),
    (["reset", "nope"], 2, "Unknown lab 'nope'"),
    (["reset", "04", "-n", "kube-system"], 2, "the cluster's own"),
    (["reset", "04", "--no-such-option"], 2, "No such option"),
    (["solve"], 2, "Missing argument"),
    (["workshop", "create", "--learners", "2"], 2, "--context"),
    (["workshop", "create", "--learners", "0", "--context", "x"], 2, "--learners"),
    (["workshop", "create", "--learners", "2", "--context", "nowhere"], 3, "No lab cluster"),
    (["workshop", "status", "--context", "nowhere"], 3, "No lab cluster"),
    (["images", "list"], 3, "not in the cache yet"),
    (["images", "save", "images.tar"], 3, "Docker is not installed"),
    (["images", "load", "missing.tar"], 2, "no such file"),
]


def run(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    empty = tmp / "bin"
    empty.mkdir(exist_ok=True)
    env = {**os.environ, "LABTOOLS_HOME": str(tmp / "home"), "LABTOOLS_CACHE": str(tmp / "cache"), "HOME": str(tmp),
           "KUBECONFIG": str(tmp / "no-kubeconfig"), "PATH": str(empty), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "labtools", *args], cwd=tmp, env=env, capture_output=True, text=True,
                          timeout=60)


def test_exit_codes(tmp_path):
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda case: run(case[0], tmp_path), CASES))
    for (args, code, says), result in zip(CASES, results):
        assert result.returncode == code, (args, result.returncode, result.stdout, result.stderr)
        assert says in " ".join(result.stderr.split()), (args, result.stderr)
    assert not (tmp_path / ".kube").exists()
