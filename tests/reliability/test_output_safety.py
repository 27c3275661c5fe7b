"""Issue 12, items 5, 6, 8 and 10: what labtools prints or writes is safe to show and to open, is written whole or
not at all, and what it reads for a report is a regular file with records it validates."""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import signal
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labtools.classroom import progress
from labtools.grading.results import FAIL, PASS, CheckResult, LabResult
from run import ROOT, clean_failure, labtools

ESC = "\x1b"
EVIL_NAME = "evil\x1b]8;;http://x\x1b\\\\link\x1b[2J"  # a terminal hyperlink and a clear-screen
SOLUTION_04 = str(ROOT / "solutions" / "04-traffic-split")


def write_run(lab: str, checks: list[tuple[str, str, str]], learner_name: str = "Ada") -> None:
    """One run in the learner's progress log, as `labtools check` records it. checks: (id, title, status)."""
    result = LabResult(lab=lab, title="Traffic splitting", mode="offline",
                       checks=[CheckResult(id=i, title=t, status=s, points=1, message="" if s == PASS else f"{t}: no")
                               for i, t, s in checks],
                       started_at="2026-12-01T09:00:00+00:00", labtools_version="0.1.0")
    learner = progress.Learner("a1b2c3d4e5f6a7b8", learner_name)
    run = progress.Run(result, progress.LEARNER, "2026-12-01T09:00:00+00:00", learner, "cli")
    path = progress.log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    progress.append_line(path, json.dumps(run.to_record()))


# --- 5: control characters ------------------------------------------------------------------------------------


def test_escape_sequences_from_a_learners_yaml_reach_no_output_format_raw(tmp_path):
    manifest = tmp_path / "evil.yaml"
    manifest.write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
        f"metadata: {{name: {json.dumps(EVIL_NAME)}}}\n"
        "spec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v1}\n      weight: 80\n"
        f"    - destination: {{host: reviews, subset: {json.dumps('v3' + ESC + '[31m')}}}\n      weight: 20\n")
    outputs = {fmt: labtools("check", "04", "--offline", str(manifest), "-f", fmt) for fmt in ("text", "json", "junit", "html")}
    for fmt, ran in outputs.items():
        assert ran.returncode == 1 and "Traceback" not in ran.output, (fmt, ran.output)
        if fmt != "json":
            assert ESC not in ran.stdout, fmt
    assert "\\x1b" in outputs["text"].stdout  # shown, escaped: the learner sees what is in the name
    ET.fromstring(outputs["junit"].stdout.split("\n", 1)[1])  # well-formed XML
    json.loads(outputs["json"].stdout)  # JSON escapes control characters itself
    written = tmp_path / "report.txt"
    assert labtools("check", "04", "--offline", str(manifest), "-o", str(written)).returncode == 1
    assert ESC not in written.read_text()


def test_an_error_message_naming_a_file_with_escapes_prints_them_escaped(tmp_path):
    ran = labtools("check", "04", "--offline", str(tmp_path / f"no{ESC}[2Jfile.yaml"))
    clean_failure(ran, 2, "no\\x1b[2Jfile.yaml")
    assert ESC not in ran.output


@pytest.fixture
def class_exports(tmp_path) -> Path:
    """Two learners' exports written by `labtools export`, with a formula for a name, formulas and escapes in check
    ids and titles; one file then edited by hand to put escapes in the name (export files come from anyone)."""
    folder = tmp_path / "exports"
    folder.mkdir()
    write_run("04-traffic-split", [
        ('=HYPERLINK("http://evil","x")', f"weights{ESC}[31m", FAIL),
        ("@SUM(1+1)", "-2+3", FAIL),
        ("ok", "fine", PASS),
    ])
    assert labtools("progress", "--whoami", '=HYPERLINK("http://evil","click")').returncode == 0
    assert labtools("export", "-o", str(folder / "learner-0.json")).returncode == 0
    tampered = json.loads((folder / "learner-0.json").read_text())
    tampered["learner"].update(id="ffffeeeeddddcccc", name=f"Eve{ESC}[2J")
    (folder / "learner-1.json").write_text(json.dumps(tampered))
    return folder


def test_report_outputs_are_inert_in_a_terminal_a_spreadsheet_and_a_browser(class_exports, tmp_path):
    csv_path, html_path = tmp_path / "class.csv", tmp_path / "class.html"
    ran = labtools("report", str(class_exports), "--csv", str(csv_path), "--html", str(html_path))
    assert ran.returncode == 0 and "Traceback" not in ran.output, ran.output
    assert ESC not in ran.output
    html = html_path.read_text()
    assert ESC not in html and "<script" not in html
    text = csv_path.read_text()
    assert ESC not in text
    rows = list(csv.reader(io.StringIO(text)))
    # 6: no cell of learner data starts with what a spreadsheet runs as a formula
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (cell, row)
    failed = [row[rows[0].index("latest_failed_checks")] for row in rows[1:] if row[rows[0].index("lab")] == "04-traffic-split"]
    assert failed and all(cell.startswith("'=HYPERLINK(") for cell in failed), failed
    names = {row[rows[0].index("learner_name")] for row in rows[1:]}
    assert "'=HYPERLINK(\"http://evil\",\"click\")" in names and "Eve\\x1b[2J" in names


# --- 8: atomic outputs ----------------------------------------------------------------------------------------


def _small_disk() -> None:
    """In the child: files may grow to 200 bytes at most, as on a full disk (EFBIG instead of a SIGXFSZ death)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))


def test_a_full_disk_keeps_the_old_output_whole(tmp_path, class_exports):
    out = tmp_path / "out" / "result.file"
    out.parent.mkdir()
    for args in (["check", "04", "--offline", SOLUTION_04, "-f", "html", "-o", str(out)],
                 ["check", "04", "--offline", SOLUTION_04, "-o", str(out)],
                 ["report", str(class_exports), "--csv", str(out)],
                 ["report", str(class_exports), "--html", str(out)],
                 ["export", "-o", str(out)]):
        out.write_text("the previous report\n")
        ran = labtools(*args, preexec_fn=_small_disk)
        clean_failure(ran, 2, f"{out}: cannot write")
        assert out.read_text() == "the previous report\n", args
        assert [p.name for p in out.parent.iterdir()] == ["result.file"], args  # no partial temporary file left


# --- 10: what report reads ------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_report_refuses_fifos_and_devices_at_once(tmp_path):
    fifo = tmp_path / "export.json"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        ran = labtools("report", "--strict", str(path), kill_after=30)
        clean_failure(ran, 2, str(path), "not a regular file")
        assert ran.seconds < 10
    ran = labtools("report", str(tmp_path), kill_after=30)  # a folder: the FIFO in it is not even opened
    clean_failure(ran, 2, "No usable export")


def test_a_record_naming_a_path_as_its_lab_is_refused_on_the_way_in_and_the_rest_exported(tmp_path):
    write_run("04-traffic-split", [("ok", "fine", PASS)])
    write_run("../../../etc/passwd", [("ok", "fine", PASS)])
    shown = labtools("progress")
    assert shown.returncode == 0 and "is not a lab id" in shown.stderr, shown.output
    exported = tmp_path / "mine.json"
    ran = labtools("export", "-o", str(exported))
    assert ran.returncode == 0 and "is not a lab id" in ran.stderr, ran.output
    assert list(json.loads(exported.read_text())["labs"]) == ["04-traffic-split"]
    report = labtools("report", "--strict", str(exported))
    assert report.returncode == 0 and "Traceback" not in report.output, report.output
