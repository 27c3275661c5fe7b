"""The README's quick start stays true: CI runs exactly its test command, and the commands it names exist."""

import re
from pathlib import Path

from typer.testing import CliRunner

from labtools.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def quick_start_commands():
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in section.splitlines() if line.startswith("    ")]


def test_quick_start_has_the_two_commands_and_ci_runs_the_second():
    setup, tests = quick_start_commands()
    assert setup.endswith("labtools up --offline-ok") and "pytest" in tests
    assert tests in (ROOT / ".ci" / "run").read_text()


def test_every_labtools_command_the_readme_names_exists():
    named = set(re.findall(r"(?:^    |`|/)labtools (\w+)", README, flags=re.MULTILINE))
    assert {"up", "check", "reset", "workshop"} <= named
    runner = CliRunner()
    for command in sorted(named):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, f"`labtools {command}` in the README: {result.output}"
