"""The learner's progress: every graded run appended to a local log, summed up per lab, exported for an instructor.

The log is JSON Lines in `settings.home_dir()/progress.jsonl`, one record per run, only ever appended to:

    {"record": 1, "recorded_at": "2025-05-01T10:00:00+00:00",
     "learner": {"id": "<stable random id>", "name": "Ada Lovelace", "email": ""},
     "provenance": "learner" | "solution", "via": "cli" | "notebook",
     "result": LabResult.to_dict()}

`provenance` says how the graded state came about: the learner's own work, or the reference solution applied by
`labtools solve`; reports keep the two apart. Appends from several processes at once stay whole (one write per
record under an exclusive lock, O_APPEND); a line that cannot be read is reported and skipped, never the rest.

Who the learner is: a name set once with `labtools progress --whoami NAME` (kept in `learner.json` next to the
log with a random id made on first use), overridden by the environment variable LABTOOLS_LEARNER (an instructor
can set it per seat). labtools never guesses a name from elsewhere (git config, the OS account): the export goes
to someone else, so the learner chooses what it says.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from labtools import __version__, settings
from labtools.classroom import solved
from labtools.errors import EnvironmentBroken, InputError, UsageError
from labtools.files.atomic import create_exclusively, write_atomically
from labtools.grading.results import FAIL, STATUSES, LabResult

RECORD_VERSION = 1
LEARNER, SOLUTION = "learner", "solution"
PROVENANCES = (LEARNER, SOLUTION)

# A learner's standing in one lab. Passing with their own work wins over a solution run, which wins over trying.
PASSED, SOLVED_BY_SOLUTION, ATTEMPTED, NOT_ATTEMPTED = "passed", "solution", "attempted", "not-attempted"
LAB_STATUSES = (PASSED, SOLVED_BY_SOLUTION, ATTEMPTED, NOT_ATTEMPTED)
# How the learner's `labtools progress` and the instructor's class report show a standing.
SYMBOLS = {PASSED: "✔", SOLVED_BY_SOLUTION: "◆", ATTEMPTED: "✘", NOT_ATTEMPTED: "·"}
STYLES = {PASSED: "green", SOLVED_BY_SOLUTION: "magenta", ATTEMPTED: "red", NOT_ATTEMPTED: "dim"}

EXPORT_FORMAT = "labtools-progress-export"
EXPORT_SCHEMA_VERSION = 1
MAX_NAME_LENGTH = 100
# A lab id as the catalog names lab folders; a record naming anything else (a path...) is refused on the way in.
LAB_ID_PATTERN = r"^\d{2}-[a-z0-9-]+$"
MAX_RECORD_BYTES = 1024 * 1024  # a run of the biggest lab is a few KB
LEARNER_ENV = "LABTOOLS_LEARNER"


def log_path() -> Path:
    return settings.home_dir() / "progress.jsonl"


def identity_path() -> Path:
    return settings.home_dir() / "learner.json"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --- who the learner is ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Learner:
    id: str
    name: str = ""
    email: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "email": self.email}


def current_learner() -> Learner:
    """The learner on this machine: stored identity (made on first use), with LABTOOLS_LEARNER overriding the name."""
    stored = _stored_identity()
    override = os.environ.get(LEARNER_ENV, "").strip()
    if override:
        return Learner(stored.id, _clean_name(override, f"environment variable {LEARNER_ENV}"), stored.email)
    return stored


def name_asked_path() -> Path:
    return settings.home_dir() / "name-asked"


def should_ask_name() -> bool:
    """Whether to ask the learner's name: none is set and they were not asked before (asked once, CLI or notebook)."""
    return not current_learner().name and not name_asked_path().exists()


def name_asked() -> None:
    """Remember that the learner was asked (they may have skipped): nobody asks again."""
    _write_atomically(name_asked_path(), now_iso() + "\n")


def set_learner(name: str, email: str | None = None) -> Learner:
    """Remember the learner's name (and email) for every later record and export; the learner id stays."""
    stored = _stored_identity()
    updated = Learner(
        stored.id,
        _clean_name(name, "--whoami"),
        stored.email if email is None else _clean_email(email),
    )
    _write_atomically(identity_path(), json.dumps(updated.to_dict(), ensure_ascii=False, indent=2) + "\n")
    return updated


def _clean_name(value: str, source: str) -> str:
    name = " ".join(value.split())
    if not name:
        raise UsageError(f"The learner name from {source} is empty.", hint='Give a name, e.g. --whoami "Ada Lovelace".')
    if len(name) > MAX_NAME_LENGTH or any(unicodedata.category(ch).startswith("C") for ch in name):
        raise UsageError(f"The learner name from {source} must be printable text of at most {MAX_NAME_LENGTH} characters.")
    return name


def _clean_email(value: str) -> str:
    email = value.strip()
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
        raise UsageError(f"{value!r} does not look like an email address.")
    return email


def _stored_identity() -> Learner:
    path = identity_path()
    text = _read_identity_text(path)
    if text is None:
        fresh = Learner(secrets.token_hex(16))
        _write_atomically(path, json.dumps(fresh.to_dict(), indent=2) + "\n", only_if_absent=True)
        text = _read_identity_text(path)  # another process may have won the race: its id is the one
        if text is None:
            raise EnvironmentBroken(f"{path}: could not be created.")
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", str(data.get("id", ""))):
            raise ValueError("no valid 'id'")
        return Learner(str(data["id"]), str(data.get("name") or ""), str(data.get("email") or ""))
    except RecursionError:
        raise InputError(f"{path}: the learner identity is unreadable (nested too deep).",
                         hint=f"Delete {path} and set your name again with `labtools progress --whoami NAME`.") from None
    except ValueError as problem:
        raise InputError(
            f"{path}: the learner identity is unreadable ({problem}).",
            hint=f"Delete {path} and set your name again with `labtools progress --whoami NAME` "
            "(your progress log is kept; new runs get a new learner id).",
        ) from None


def _read_identity_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as problem:
        raise EnvironmentBroken(f"{path}: cannot be read ({problem.strerror or problem}).") from None


def _write_atomically(path: Path, text: str, only_if_absent: bool = False) -> None:
    try:
        (create_exclusively if only_if_absent else write_atomically)(path, text)
    except OSError as problem:
        raise EnvironmentBroken(f"{path}: cannot be written ({problem.strerror or problem}).") from None


# --- the log ---------------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One graded run as the log keeps it."""

    result: LabResult
    provenance: str = LEARNER
    recorded_at: str = ""
    learner: Learner | None = None
    via: str = "cli"

    def to_record(self) -> dict[str, Any]:
        return {
            "record": RECORD_VERSION,
            "recorded_at": self.recorded_at,
            "learner": self.learner.to_dict() if self.learner else None,
            "provenance": self.provenance,
            "via": self.via,
            "result": self.result.to_dict(),
        }


@dataclass
class LogContents:
    runs: list[Run]
    problems: list[str]  # one line each: file, line number, what is wrong; the line was skipped


def record_run(result: LabResult, provenance: str = LEARNER, via: str = "cli") -> Run:
    """Append one graded run to the learner's log. The CLI's `check` and the notebooks' check cell call this.

    A live run of a lab whose reference solution `labtools solve` applied to that namespace (and no `labtools reset`
    removed since) is recorded as SOLUTION: the cluster then holds the solution, not the learner's work."""
    if provenance not in PROVENANCES:
        raise ValueError(f"provenance must be one of {PROVENANCES}, not {provenance!r}")
    if provenance == LEARNER and result.mode == "live" and solved.is_marked(result.lab, result.namespace):
        provenance = SOLUTION
    run = Run(result, provenance, now_iso(), current_learner(), via)
    append_line(log_path(), json.dumps(run.to_record(), ensure_ascii=False, separators=(",", ":")))
    return run


def append_line(path: Path, line: str) -> None:
    """Append one line so that concurrent writers never interleave or tear each other's records."""
    data = (line.rstrip("\n") + "\n").encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as problem:
        raise EnvironmentBroken(f"{path}: cannot open the progress log ({problem.strerror or problem}).") from None
    try:
        with _exclusive(fd):
            end = os.lseek(fd, 0, os.SEEK_END)
            if end:
                os.lseek(fd, end - 1, os.SEEK_SET)
                if os.read(fd, 1) != b"\n":
                    # A writer that died mid-record left a torn line: start afresh so only that line is lost.
                    data = b"\n" + data
            view = memoryview(data)
            while view:  # O_APPEND puts every write at the end, whatever the offset
                written = os.write(fd, view)
                view = view[written:]
    except OSError as problem:
        raise EnvironmentBroken(f"{path}: cannot append to the progress log ({problem.strerror or problem}).") from None
    finally:
        os.close(fd)


@contextmanager
def _exclusive(fd: int) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # Windows: no flock; O_APPEND alone keeps single writes at the end
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def read_log(path: Path | None = None) -> LogContents:
    """Every readable run in log order. Unreadable lines are listed in `problems` and skipped."""
    path = path or log_path()
    runs: list[Run] = []
    problems: list[str] = []
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return LogContents(runs, problems)
    except OSError as problem:
        raise EnvironmentBroken(f"{path}: cannot read the progress log ({problem.strerror or problem}).") from None
    with handle:
        for number, raw in enumerate(_bounded_lines(handle), 1):
            if not raw.strip():
                continue
            try:
                if len(raw) > MAX_RECORD_BYTES:
                    raise ValueError(f"more than {MAX_RECORD_BYTES // 1024} KiB, larger than any run")
                runs.append(_run_from_record(json.loads(raw.decode("utf-8"))))
            except (UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError) as problem:
                problems.append(f"{path}:{number}: unreadable record ({_short(problem)}); skipped")
            except RecursionError:  # JSON nested thousands deep: not a record labtools wrote
                problems.append(f"{path}:{number}: unreadable record (nested too deep); skipped")
    return LogContents(runs, problems)


def _bounded_lines(handle: Any) -> Iterator[bytes]:
    """The file's lines, each read into memory up to MAX_RECORD_BYTES + 1 bytes (the rest of a longer line is
    skipped unread into memory): a log line of a gigabyte costs no gigabyte."""
    while True:
        line = handle.readline(MAX_RECORD_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_RECORD_BYTES and not line.endswith(b"\n"):
            while (rest := handle.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
        yield line


def _run_from_record(record: Any) -> Run:
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    if record.get("record") != RECORD_VERSION:
        raise ValueError(f"record version {record.get('record')!r}, this labtools reads {RECORD_VERSION}")
    provenance = record.get("provenance")
    if provenance not in PROVENANCES:
        raise ValueError(f"provenance {provenance!r} is not one of {', '.join(PROVENANCES)}")
    data = record.get("result")
    if not isinstance(data, dict) or not isinstance(data.get("lab"), str) or not isinstance(data.get("checks"), list):
        raise ValueError("'result' is not a lab result")
    if not re.fullmatch(LAB_ID_PATTERN, data["lab"]):
        raise ValueError(f"lab {data['lab'][:40]!r} is not a lab id")
    if not all(isinstance(c, dict) for c in data["checks"]):
        raise ValueError("'result.checks' holds something other than check results")
    result = LabResult.from_dict(data)
    for check in result.checks:
        if check.status not in STATUSES or not isinstance(check.points, int):
            raise ValueError(f"check {check.id!r} has status {check.status!r} and points {check.points!r}")
        if not isinstance(check.id, str) or not check.id or not isinstance(check.title, str):
            raise ValueError(f"check {str(check.id)[:40]!r} has no text id or title")
    if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 10_000 for n in (result.score, result.max_score)):
        raise ValueError("score or max_score is not a small whole number")
    who = record.get("learner")
    learner = Learner(str(who.get("id", "")), str(who.get("name") or ""), str(who.get("email") or "")) if isinstance(who, dict) else None
    return Run(result, provenance, str(record.get("recorded_at") or ""), learner, str(record.get("via") or ""))


def _short(problem: Exception) -> str:
    text = str(problem)
    return text if len(text) <= 120 else text[:117] + "..."


# --- per lab -------------------------------------------------------------------------------------------------


def lab_status(passed_own_work: bool, solution_runs: int, attempts: int) -> str:
    """One rule for the learner's own view and the class report."""
    if passed_own_work:
        return PASSED
    if solution_runs:
        return SOLVED_BY_SOLUTION
    return ATTEMPTED if attempts else NOT_ATTEMPTED


@dataclass
class LabProgress:
    lab: str
    title: str = ""
    runs: list[Run] = field(default_factory=list)  # in log order

    @property
    def own_runs(self) -> list[Run]:
        return [r for r in self.runs if r.provenance == LEARNER]

    @property
    def attempts(self) -> int:
        return len(self.own_runs)

    @property
    def solution_runs(self) -> int:
        return sum(1 for r in self.runs if r.provenance == SOLUTION)

    @property
    def best(self) -> Run | None:
        """The learner's own best run: a pass first, then the highest share of points, then the most recent."""
        own = self.own_runs
        if not own:
            return None
        return max(reversed(own), key=lambda r: (r.result.passed, _share(r.result)))

    @property
    def latest(self) -> Run | None:
        return self.runs[-1] if self.runs else None

    @property
    def attempts_to_pass(self) -> int | None:
        for number, run in enumerate(self.own_runs, 1):
            if run.result.passed:
                return number
        return None

    @property
    def status(self) -> str:
        best = self.best
        return lab_status(bool(best and best.result.passed), self.solution_runs, self.attempts)

    @property
    def failures(self) -> dict[str, int]:
        """How many of the learner's own runs failed each check (errors are the environment's, not the learner's)."""
        counts: dict[str, int] = {}
        for run in self.own_runs:
            for check in run.result.checks:
                if check.status == FAIL:
                    counts[check.id] = counts.get(check.id, 0) + 1
        return counts


def _share(result: LabResult) -> float:
    return result.score / result.max_score if result.max_score else float(result.passed)


def summarize(runs: Iterable[Run], catalog: Iterable[tuple[str, str]] = ()) -> list[LabProgress]:
    """Per lab, in lab order: every catalog lab (attempted or not) and every lab the log mentions."""
    labs: dict[str, LabProgress] = {lab: LabProgress(lab, title) for lab, title in catalog}
    for run in runs:
        entry = labs.setdefault(run.result.lab, LabProgress(run.result.lab))
        entry.runs.append(run)
        entry.title = entry.title or run.result.title
    return [labs[lab] for lab in sorted(labs)]


def summarize_log() -> tuple[list[LabProgress], list[str]]:
    """The learner's standing in every lab of this installation and of the log; and the log's unreadable lines."""
    contents = read_log()
    return summarize(contents.runs, known_labs()), contents.problems


def known_labs() -> list[tuple[str, str]]:
    """(id, title) of the labs this installation has, so labs not yet attempted show up too."""
    from labtools.grading.catalog import lab_ids, load_lab

    labs = []
    for lab in lab_ids():
        try:
            title = load_lab(lab).title
        except Exception:  # a lab whose checks.py is broken is still a lab to list; `check` reports the breakage
            title = ""
        labs.append((lab, title))
    return labs


# --- export --------------------------------------------------------------------------------------------------


def export_document(learner: Learner, labs: list[LabProgress], exported_at: str | None = None) -> dict[str, Any]:
    """One JSON document an instructor collects; `labtools report` merges many. Its shape is EXPORT_SCHEMA."""
    return {
        "format": EXPORT_FORMAT,
        "schema_version": EXPORT_SCHEMA_VERSION,
        "exported_at": exported_at or now_iso(),
        "labtools_version": __version__,
        "learner": learner.to_dict(),
        "catalog": [{"lab": entry.lab, "title": entry.title} for entry in labs],
        "labs": {entry.lab: _lab_export(entry) for entry in labs if entry.runs},
    }


def _lab_export(entry: LabProgress) -> dict[str, Any]:
    best, latest = entry.best, entry.latest
    return {
        "title": entry.title,
        "attempts": entry.attempts,
        "attempts_to_pass": entry.attempts_to_pass,
        "solution_runs": entry.solution_runs,
        "first_attempt_at": entry.runs[0].recorded_at,
        "last_attempt_at": entry.runs[-1].recorded_at,
        "best": _run_summary(best) if best else None,
        "latest": _run_summary(latest) if latest else None,
        "failures": entry.failures,
    }


def _run_summary(run: Run) -> dict[str, Any]:
    result = run.result
    return {
        "recorded_at": run.recorded_at,
        "mode": result.mode,
        "provenance": run.provenance,
        "passed": result.passed,
        "score": result.score,
        "max_score": result.max_score,
        "checks": [{"id": c.id, "title": c.title, "status": c.status} for c in result.checks],
    }


def export_file_name(learner: Learner) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", unicodedata.normalize("NFKD", learner.name).encode("ascii", "ignore").decode().lower())
    return f"labtools-progress-{slug.strip('-') or learner.id[:8]}.json"


_TIME = {"type": "string", "minLength": 1}
_COUNT = {"type": "integer", "minimum": 0}
_RUN_SUMMARY = {
    "type": "object",
    "required": ["recorded_at", "mode", "provenance", "passed", "score", "max_score", "checks"],
    "properties": {
        "recorded_at": _TIME,
        "mode": {"enum": ["offline", "live"]},
        "provenance": {"enum": list(PROVENANCES)},
        "passed": {"type": "boolean"},
        "score": _COUNT,
        "max_score": _COUNT,
        "checks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "status"],
                "properties": {"id": {"type": "string", "minLength": 1}, "title": {"type": "string"},
                               "status": {"enum": list(STATUSES)}},
            },
        },
    },
}
# The export format (JSON Schema 2020-12). Readers also check what a schema cannot say: times parse,
# score <= max_score, the best run is the learner's own, attempts_to_pass <= attempts.
EXPORT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["format", "schema_version", "exported_at", "labtools_version", "learner", "catalog", "labs"],
    "properties": {
        "format": {"const": EXPORT_FORMAT},
        "schema_version": {"const": EXPORT_SCHEMA_VERSION},
        "exported_at": _TIME,
        "labtools_version": {"type": "string"},
        "learner": {
            "type": "object",
            "required": ["id", "name"],
            "properties": {
                "id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"},
                "name": {"type": "string", "maxLength": MAX_NAME_LENGTH},
                "email": {"type": "string", "maxLength": 254},
            },
        },
        "catalog": {
            "type": "array",
            "items": {"type": "object", "required": ["lab"],
                      "properties": {"lab": {"type": "string", "pattern": LAB_ID_PATTERN}, "title": {"type": "string"}}},
        },
        "labs": {
            "type": "object",
            "propertyNames": {"pattern": LAB_ID_PATTERN},
            "additionalProperties": {
                "type": "object",
                "required": ["attempts", "attempts_to_pass", "solution_runs", "first_attempt_at", "last_attempt_at",
                             "best", "latest", "failures"],
                "properties": {
                    "title": {"type": "string"},
                    "attempts": _COUNT,
                    "attempts_to_pass": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]},
                    "solution_runs": _COUNT,
                    "first_attempt_at": _TIME,
                    "last_attempt_at": _TIME,
                    "best": {"anyOf": [_RUN_SUMMARY, {"type": "null"}]},
                    "latest": {"anyOf": [_RUN_SUMMARY, {"type": "null"}]},
                    "failures": {"type": "object", "additionalProperties": _COUNT},
                },
            },
        },
    },
}
