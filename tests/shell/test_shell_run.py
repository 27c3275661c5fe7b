"""labtools.shell: list arguments only, timeouts, and errors that explain themselves."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from labtools import shell
from labtools.errors import EXIT_ENVIRONMENT, EnvironmentBroken


@pytest.fixture
def tool(tmp_path, monkeypatch):
    """Write a small executable `name` (Python) into a folder on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    def make(name: str, body: str) -> Path:
        path = bin_dir / name
        path.write_text(f"#!{sys.executable}\nimport os, sys, time\n{body}\n")
        path.chmod(0o755)
        return path

    return make


def test_run_captures_output_and_passes_arguments_verbatim(tool):
    tool("echoargs", "print(repr(sys.argv[1:])); print('to stderr', file=sys.stderr)")
    result = shell.run(["echoargs", "a b", "; rm -rf /", "$HOME"])
    assert result.stdout.strip() == repr(["a b", "; rm -rf /", "$HOME"])  # no shell: nothing is interpreted
    assert result.stderr.strip() == "to stderr" and result.returncode == 0
    assert "to stderr" in result.output


def test_env_adds_to_the_environment_and_input_goes_to_stdin(tool):
    tool("show", "print(os.environ['EXTRA'], os.environ.get('PATH') is not None, sys.stdin.read())")
    assert shell.run(["show"], env={"EXTRA": "yes"}, input="hello").stdout.strip() == "yes True hello"


def test_stdin_is_closed_when_no_input_is_given(tool):
    tool("reader", "print(repr(sys.stdin.read()))")
    assert shell.run(["reader"], timeout=10).stdout.strip() == "''"


def test_a_failing_command_raises_command_failed_with_the_end_of_stderr(tool):
    lines = "\\n".join(f"line {i}" for i in range(30))
    tool("failing", f"print('{lines}', file=sys.stderr); sys.exit(4)")
    with pytest.raises(shell.CommandFailed) as raised:
        shell.run(["failing", "--flag"])
    problem = raised.value
    assert isinstance(problem, EnvironmentBroken) and problem.exit_code == EXIT_ENVIRONMENT
    assert "`failing --flag` failed (exit code 4)" in problem.message
    assert "line 29" in problem.message and "line 10" not in problem.message
    assert problem.result.returncode == 4


def test_check_false_returns_the_failure_instead(tool):
    tool("failing", "sys.exit(2)")
    assert shell.run(["failing"], check=False).returncode == 2


def test_a_command_that_hangs_is_stopped_at_its_timeout(tool):
    tool("sleeper", "print('started', flush=True); time.sleep(30)")
    with pytest.raises(shell.CommandFailed) as raised:
        shell.run(["sleeper"], timeout=0.5)
    assert "did not finish within 0.5 s" in raised.value.message


@pytest.mark.parametrize("name", ["kind", "istioctl", "docker", "kubectl", "jupyter"])
def test_a_missing_tool_is_tool_not_found_with_an_install_hint(monkeypatch, tmp_path, name):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(shell.sys, "executable", str(tmp_path / "python3"))  # nor next to the interpreter
    with pytest.raises(shell.ToolNotFound) as raised:
        shell.run([name, "version"])
    assert raised.value.tool == name
    assert f"`{name}` is not installed" in raised.value.message
    assert raised.value.hint and raised.value.exit_code == EXIT_ENVIRONMENT


def test_a_missing_tool_given_by_path_is_tool_not_found(tmp_path):
    with pytest.raises(shell.ToolNotFound):
        shell.run([str(tmp_path / "bin" / "istioctl"), "version"])


def test_run_attached_returns_the_exit_code(tool):
    tool("lab", "sys.exit(int(os.environ['CODE']))")
    assert shell.run_attached(["lab"], env={"CODE": "7"}) == 7


def test_last_lines_keeps_the_end_and_drops_blank_lines():
    assert shell.last_lines("a\n\n b \nc\n", 2) == "   b\n  c"


def test_a_tool_next_to_the_interpreter_is_found_without_path(monkeypatch, tmp_path):
    """`.venv/bin/labtools up`, with the venv not activated, still finds `.venv/bin/jupyter`."""
    venv_bin = tmp_path / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    jupyter = venv_bin / "jupyter"
    jupyter.write_text("#!/bin/sh\necho lab\n")
    jupyter.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(shell.sys, "executable", str(venv_bin / "python3"))
    assert shell.which("jupyter") == str(jupyter)
    assert shell.run(["jupyter"]).stdout.strip() == "lab"
