"""The import layers of docs/ARCHITECTURE.md hold, and import-linter really catches a layer broken on purpose."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed (pip install -e '.[test]')")


def lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")], cwd=root,
                          env={"PYTHONPATH": str(root), "PATH": ""}, capture_output=True, text=True, timeout=120)


def copy_of_the_package(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "labtools", tmp_path / "labtools", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_every_contract():
    result = lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("meshconfig/hosts.py", "from labtools.grading import results", "Layers"),  # an import upwards
    ("meshconfig/hosts.py", "import pathlib", "meshconfig is pure"),
    ("grading/runner.py", "import subprocess", "Only shell runs programs"),
    ("probes/http.py", "import kubernetes", "Only kube imports the kubernetes client"),
])
def test_a_deliberate_violation_breaks_its_contract(tmp_path, module, line, contract):
    root = copy_of_the_package(tmp_path)
    target = root / "labtools" / module
    target.write_text(target.read_text() + f"\n{line}  # deliberate violation\n")
    result = lint(root)
    assert result.returncode != 0
    broken = [row for row in result.stdout.splitlines() if " BROKEN" in row]  # "BROKEN (1 ignored import)" too
    assert any(row.startswith(contract) for row in broken), result.stdout
