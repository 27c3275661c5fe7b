"""The commands end to end: `check` records, `progress` shows, `export` writes, `report` merges."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from typer.testing import CliRunner

from labtools.classroom import classreport, progress
from labtools.cli import app
from labtools.errors import InputError, UsageError

DEMO_CHECKS = '''
from labtools.grading import Lab, fail

lab = Lab("{id}", "{title}", uses=(), validate=False)


@lab.check(points=2, hint="Write a Gateway.")
def has_gateway(config):
    """A Gateway is submitted"""
    if not any(r.data.get("kind") == "Gateway" for r in config.submitted):
        fail("No Gateway among your objects; the task asks for one.")
'''
GATEWAY = "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: g\nspec:\n  selector:\n    istio: ingressgateway\n"
SERVICE = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: 80\n"


@pytest.fixture
def labs(tmp_path, monkeypatch):
    """Two small labs of our own, so these tests do not depend on the course's labs."""
    root = tmp_path / "labs"
    for lab_id, title in (("98-demo", "Demo lab"), ("99-other", "Other lab")):
        (root / lab_id).mkdir(parents=True)
        (root / lab_id / "checks.py").write_text(DEMO_CHECKS.format(id=lab_id, title=title), encoding="utf-8")
    monkeypatch.setenv("LABTOOLS_LABS", str(root))
    work = tmp_path / "work"
    work.mkdir()
    (work / "good.yaml").write_text(GATEWAY, encoding="utf-8")
    (work / "wrong.yaml").write_text(SERVICE, encoding="utf-8")
    monkeypatch.chdir(work)
    return work


def labtools(*args: str):
    return CliRunner().invoke(app, list(args))


def test_check_runs_are_recorded_and_shown_by_progress(labs):
    assert labtools("progress", "--whoami", "Ada Lovelace", "--email", "ada@example.org").stdout.startswith("You are Ada Lovelace")
    assert labtools("check", "98", "--offline", "wrong.yaml").exit_code == 1
    assert labtools("check", "98", "--offline", "good.yaml").exit_code == 0
    runs = progress.read_log().runs
    assert [(r.result.lab, r.result.passed, r.provenance, r.via, r.learner.name) for r in runs] == [
        ("98-demo", False, "learner", "cli", "Ada Lovelace"), ("98-demo", True, "learner", "cli", "Ada Lovelace")]

    shown = labtools("progress")
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    demo = next(line for line in lines if "98-demo" in line)
    other = next(line for line in lines if "99-other" in line)
    assert "passed" in demo and " 2 " in demo and "2/2" in demo
    assert "not attempted" in other
    assert "1 of 2 labs passed" in shown.stdout


def test_json_output_of_check_stays_clean_when_recording_fails(labs, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("LABTOOLS_HOME", str(blocker))
    result = labtools("check", "98", "--offline", "good.yaml", "--format", "json")
    assert result.exit_code == 0  # the grade stands
    assert json.loads(result.stdout)["passed"] is True
    assert "warning: progress not recorded" in result.stderr


def test_export_writes_one_file_the_report_reads(labs):
    labtools("progress", "--whoami", "Zoë Ünal")
    labtools("check", "98", "--offline", "wrong.yaml")
    result = labtools("export")
    assert result.exit_code == 0, result.output
    path = labs / "labtools-progress-zoe-unal.json"
    assert f"Wrote {path.name}: 1 lab(s) attempted, 0 passed" in result.stderr
    export = classreport.read_export(path)
    assert export.name == "Zoë Ünal"
    assert export.standing("98-demo").status == "attempted"
    assert export.standing("99-other").status == "not-attempted"
    assert export.catalog == {"98-demo": "Demo lab", "99-other": "Other lab"}

    to_stdout = labtools("export", "-o", "-")
    assert json.loads(to_stdout.stdout)["learner"]["name"] == "Zoë Ünal"


def test_export_without_a_name_says_how_to_set_one(labs):
    result = labtools("export", "-o", "mine.json")
    assert result.exit_code == 0
    assert "--whoami" in result.stderr
    assert json.loads((labs / "mine.json").read_text(encoding="utf-8"))["learner"]["name"] == ""


def test_a_corrupt_log_line_is_a_warning_not_a_stop(labs):
    labtools("check", "98", "--offline", "good.yaml")
    with open(progress.log_path(), "a", encoding="utf-8") as log:
        log.write("garbage\n")
    labtools("check", "98", "--offline", "good.yaml")
    shown = labtools("progress")
    assert shown.exit_code == 0
    assert f"{progress.log_path()}:2: unreadable record" in shown.stderr
    assert "98-demo" in shown.stdout
    assert labtools("export", "-o", "e.json").exit_code == 0
    assert json.loads((labs / "e.json").read_text(encoding="utf-8"))["labs"]["98-demo"]["attempts"] == 2


def test_names_that_look_like_markup_print_as_written(labs):
    assert labtools("progress", "--whoami", "Kim [/] [b]Lee").stdout.startswith("You are Kim [/] [b]Lee ")
    assert "Progress of Kim [/] [b]Lee" in labtools("progress").stdout


def test_email_needs_a_name(labs):
    result = labtools("progress", "--email", "a@b.c")
    assert isinstance(result.exception, UsageError)


def _learner_exports(labs: Path, monkeypatch, count: int) -> Path:
    """`count` learners, each with their own labtools home, who check and export."""
    folder = labs / "collected"
    for number in range(count):
        monkeypatch.setenv("LABTOOLS_HOME", str(labs / f"home-{number}"))
        labtools("progress", "--whoami", f"Learner {number}")
        if number % 3 != 2:
            labtools("check", "98", "--offline", "wrong.yaml")
        if number % 3 == 0:
            labtools("check", "98", "--offline", "good.yaml")
        assert labtools("export", "-o", str(folder / f"learner-{number}.json")).exit_code == 0
    return folder


def test_report_writes_csv_and_html_from_collected_exports(labs, monkeypatch):
    folder = _learner_exports(labs, monkeypatch, 6)
    result = labtools("report", str(folder), "--csv", "class.csv", "--html", "class.html")
    assert result.exit_code == 0, result.output
    assert "Where the class is stuck" in result.stdout and "No activity: Learner 2, Learner 5" in result.stdout
    rows = list(csv.DictReader((labs / "class.csv").open(encoding="utf-8")))
    demo = {row["learner_name"]: row["status"] for row in rows if row["lab"] == "98-demo"}
    assert demo == {"Learner 0": "passed", "Learner 1": "attempted", "Learner 2": "not-attempted",
                    "Learner 3": "passed", "Learner 4": "attempted", "Learner 5": "not-attempted"}
    page = BeautifulSoup((labs / "class.html").read_text(encoding="utf-8"), "html.parser")
    summary = page.select_one('table#lab-summary tr[data-lab="98-demo"]').select("td")
    assert summary[2].get_text() == "2/6 (33%)"
    failed = page.select_one('table#failed-checks-table tr[data-check="has_gateway"]').select("td")
    assert (failed[1].get_text(), failed[2].get_text(), failed[3].get_text()) == ("A Gateway is submitted", "4", "4")


def test_report_skips_a_bad_file_and_strict_stops(labs, monkeypatch):
    folder = _learner_exports(labs, monkeypatch, 2)
    (folder / "broken.json").write_text('{"format": "labtools-progress-export", "schema_version": 1}', encoding="utf-8")
    result = labtools("report", str(folder))
    assert result.exit_code == 0
    assert "broken.json: field (the whole document): 'exported_at' is a required property" in result.stderr
    strict = labtools("report", str(folder), "--strict")
    assert isinstance(strict.exception, InputError) and "broken.json" in strict.exception.message
    nothing = labtools("report", str(folder / "broken.json"))
    assert isinstance(nothing.exception, InputError) and "No usable export" in nothing.exception.message


def test_exit_code_for_unusable_input_is_2(labs, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "labtools", "report", str(bad), "--strict"],
                          capture_output=True, text=True, env=os.environ.copy(), timeout=60)
    assert done.returncode == 2
    assert f"error: {bad}: not valid JSON" in done.stderr


def test_commands_are_registered():
    listing = labtools("--help").stdout
    for command in ("progress", "export", "report"):
        assert command in listing


def test_progress_asks_for_a_name_once_at_a_terminal(monkeypatch):
    from labtools.cli import setup_ui

    monkeypatch.delenv(progress.LEARNER_ENV, raising=False)
    monkeypatch.setattr(setup_ui, "interactive", lambda: True)
    first = CliRunner().invoke(app, ["progress"], input="Grace Hopper\n")
    assert first.exit_code == 0, first.output
    assert "Your name" in first.output and "Progress of Grace Hopper" in first.output
    second = CliRunner().invoke(app, ["progress"], input="")
    assert "Your name" not in second.output and "Progress of Grace Hopper" in second.output


def test_progress_never_asks_through_a_pipe(monkeypatch):
    monkeypatch.delenv(progress.LEARNER_ENV, raising=False)
    run = CliRunner().invoke(app, ["progress"], input="")
    assert run.exit_code == 0 and "Your name," not in run.output and "no name set" in run.output
    assert progress.should_ask_name()  # not asked: a later terminal run still asks
