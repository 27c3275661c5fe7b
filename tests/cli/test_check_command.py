"""`labtools check` as a user runs it: a real subprocess, exit codes, output formats, bad input."""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import HAVE_CRDS

ROOT = Path(__file__).resolve().parents[2]
SOLUTION_04 = str(ROOT / "solutions" / "04-traffic-split")


def labtools(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "labtools", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=60, env={**os.environ, "COLUMNS": "120"})


@pytest.mark.parametrize("name", ["04-traffic-split", "04", "4"])
def test_lab_by_id_or_number_passes(name):
    run = labtools("check", name, "--offline", SOLUTION_04)
    assert run.returncode == 0, run.stdout + run.stderr
    # The validity check earns no points (the starter is valid too), so the maximum is the same without Istio's schemas.
    assert "04-traffic-split (offline): PASSED, 7/7 points" in run.stdout


def test_json_output_and_exit_code_1_on_failure(tmp_path):
    wrong = tmp_path / "reviews.yaml"
    wrong.write_text((ROOT / "solutions/04-traffic-split/reviews.yaml").read_text().replace("weight: 20", "weight: 80"))
    run = labtools("check", "04", "--offline", str(wrong), "--format", "json")
    assert run.returncode == 1
    data = json.loads(run.stdout)
    assert (data["lab"], data["mode"], data["passed"]) == ("04-traffic-split", "offline", False)
    assert data["score"] < data["max_score"] == 7
    failed = [c for c in data["checks"] if c["status"] == "fail"]
    assert [c["id"] for c in failed] == ["others_split_80_20"]
    assert set(failed[0]) >= {"id", "title", "status", "points", "message", "hint"}
    assert "v1 50%, v3 50%" in failed[0]["message"]


def test_junit_to_a_file(tmp_path):
    out = tmp_path / "reports" / "junit.xml"
    run = labtools("check", "04", "--offline", SOLUTION_04, "--format", "junit", "--output", str(out))
    assert run.returncode == 0 and run.stdout == ""
    suite = ET.parse(out).getroot().find("testsuite")
    from labtools.grading.catalog import load_lab

    assert suite.get("failures") == "0" and int(suite.get("tests")) == len(load_lab("04").checks)
    assert int(suite.get("skipped")) == sum(1 for c in load_lab("04").checks if c.live) + (0 if HAVE_CRDS else 1)


def make_bad_inputs(folder: Path) -> dict[str, Path]:
    files = {
        "malformed": ("bad.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: [oops\n"),
        "binary": ("image.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        "non_kubernetes": ("notes.yaml", "title: my notes\nitems: [a, b]\n"),
        "alias_bomb": ("bomb.yaml", "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
            f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))),
    }
    paths = {}
    for key, (name, content) in files.items():
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        paths[key] = path
    return paths


@pytest.mark.parametrize("kind, expected", [
    ("malformed", "flow sequence that starts on line 4"),
    ("binary", "a binary file, not YAML"),
    ("non_kubernetes", "is not a Kubernetes object: apiVersion and kind missing"),
    ("alias_bomb", "alias bomb"),
])
def test_bad_input_is_one_clear_line_naming_the_file(tmp_path, kind, expected):
    path = make_bad_inputs(tmp_path)[kind]
    run = labtools("check", "04", "--offline", str(path))
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and run.stdout == ""
    first = run.stderr.splitlines()[0]
    assert first.startswith(f"error: {path}") and expected in first


def test_missing_file_and_unknown_lab():
    missing = labtools("check", "04", "--offline", "no/such/file.yaml")
    assert missing.returncode == 2 and "error: no/such/file.yaml: no such file or folder." in missing.stderr
    unknown = labtools("check", "42", "--offline", SOLUTION_04)
    assert unknown.returncode == 2 and "Unknown lab '42'" in unknown.stderr and "04-traffic-split" in unknown.stderr
    assert "Traceback" not in missing.stderr + unknown.stderr


def test_files_without_offline_is_a_usage_error():
    run = labtools("check", "04", SOLUTION_04)
    assert run.returncode == 2 and "without --offline" in run.stderr


def test_unknown_format():
    run = labtools("check", "04", "--offline", SOLUTION_04, "--format", "yaml")
    assert run.returncode == 2 and "Unknown format 'yaml'" in run.stderr


def test_list_and_help():
    listing = labtools("list")
    assert listing.returncode == 0 and "10-security" in listing.stdout
    helped = labtools("--help")
    assert helped.returncode == 0 and "check" in helped.stdout


def test_live_check_without_a_cluster_suggests_offline(tmp_path):
    run = subprocess.run([sys.executable, "-m", "labtools", "check", "04"], capture_output=True, text=True, cwd=ROOT,
                         timeout=60, env={**os.environ, "LABTOOLS_HOME": str(tmp_path), "COLUMNS": "120"})
    assert run.returncode == 3
    assert "labtools check 04 --offline" in run.stderr and "Traceback" not in run.stderr


def test_list_shows_offline_and_live_points_apart():
    from labtools.grading.catalog import load_lab

    run = labtools("list")
    assert run.returncode == 0 and "Offline points" in run.stdout and "Live points" in run.stdout
    lab = load_lab("04")
    offline = sum(c.points for c in lab.checks if not c.live)
    row = next(line for line in run.stdout.splitlines() if "04-traffic-split" in line)
    assert f"{offline} (" in row  # what the notebook shows offline (/8), not offline and live added up


def test_help_lists_each_command_with_its_whole_first_sentence():
    run = subprocess.run([sys.executable, "-m", "labtools", "--help"], capture_output=True, text=True, cwd=ROOT,
                         timeout=60, env={**os.environ, "COLUMNS": "80"})
    commands = run.stdout.split("Commands:", 1)[1]
    assert run.returncode == 0 and "..." not in commands, run.stdout
    assert "instructor." in run.stdout and "Bookinfo and a kubeconfig each." in run.stdout
