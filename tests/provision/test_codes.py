"""The catalog of doctor codes (labtools.provision.codes): unique codes, one entry each, and no code used anywhere
that the catalog does not hold; the code itself is written only in the catalog."""

from __future__ import annotations

import re
from pathlib import Path

from labtools.provision.codes import CATALOG, Code
from labtools.provision.model import FAIL, OK, WARN, Finding

ROOT = Path(__file__).resolve().parents[2]
CODE = re.compile(r"\bLT\d{3}\b")


def sources(*folders: str, suffixes=(".py",)) -> list[Path]:
    return [p for folder in folders for p in (ROOT / folder).rglob("*") if p.suffix in suffixes and p.is_file()]


def test_codes_are_unique_and_well_formed():
    values = [member.value for member in Code.__members__.values()]  # aliases (a repeated value) show up here
    assert len(values) == len(set(values))
    assert all(re.fullmatch(r"LT\d{3}", value) for value in values)


def test_every_code_has_one_entry_with_a_level_and_a_fix():
    assert set(CATALOG) == set(Code)
    for code, entry in CATALOG.items():
        assert entry.level in (WARN, FAIL), code
        assert entry.about.endswith(".") and entry.fix, code


def test_only_the_catalog_writes_a_code():
    catalog = ROOT / "labtools" / "provision" / "codes.py"
    written = {str(p.relative_to(ROOT)): CODE.findall(p.read_text()) for p in sources("labtools", "labs") if p != catalog}
    assert {path: found for path, found in written.items() if found} == {}


def test_every_code_named_anywhere_exists():
    named = {(str(p.relative_to(ROOT)), code) for p in sources("tests", "docs", suffixes=(".py", ".md"))
             for code in CODE.findall(p.read_text())} | {("README.md", code) for code in CODE.findall((ROOT / "README.md").read_text())}
    assert {(path, code) for path, code in named if code not in set(Code)} == set()
    used = {name for p in sources("labtools", "labs") for name in re.findall(r"\bCode\.([A-Z0-9_]+)", p.read_text())}
    assert used and used <= set(Code.__members__)


def test_a_finding_without_a_fix_gets_the_catalogs_unless_it_is_ok():
    assert Finding(Code.PROPAGATION, WARN, "2 proxies are stale").fix == CATALOG[Code.PROPAGATION].fix
    assert Finding(Code.PROPAGATION, OK, "in sync").fix == ""
    assert Finding(Code.PROPAGATION, WARN, "stale", fix="Wait.").fix == "Wait."
    assert f"[{Code.DOCKER_MISSING}]" == "[LT001]"
