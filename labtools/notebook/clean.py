"""Strip outputs from lab notebooks before they are committed: `python -m labtools.notebook.clean labs/*/*.ipynb`.

Removes outputs, execution counts, widget state and per-cell execution metadata; keeps everything else. `--check`
changes nothing and exits 1 when a notebook would change (for CI and the tests).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# Metadata that records a run rather than the lesson.
RUN_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")
NOTEBOOK_RUN_METADATA = ("widgets",)


def dirty_cells(notebook: Any) -> list[int]:
    """Indexes of cells that carry outputs, an execution count or run metadata."""
    return [index for index, cell in enumerate(notebook.cells) if cell.get("cell_type") == "code" and (
        cell.get("outputs") or cell.get("execution_count") is not None
        or any(key in cell.get("metadata", {}) for key in RUN_METADATA))]


def strip(notebook: Any) -> bool:
    """Clean a notebook in place; True when something was removed."""
    changed = bool(dirty_cells(notebook)) or any(key in notebook.metadata for key in NOTEBOOK_RUN_METADATA)
    for key in NOTEBOOK_RUN_METADATA:
        notebook.metadata.pop(key, None)
    for cell in notebook.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
            for key in RUN_METADATA:
                cell.get("metadata", {}).pop(key, None)
    return changed


def clean_file(path: Path, check_only: bool = False) -> bool:
    """Strip one notebook file; True when it had something to strip (and, unless check_only, was rewritten)."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    changed = strip(notebook)
    if changed and not check_only:
        nbformat.write(notebook, path)
    return changed


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    check_only = "--check" in args
    paths = [Path(a) for a in args if a != "--check"]
    if not paths:
        print("usage: python -m labtools.notebook.clean [--check] NOTEBOOK.ipynb...", file=sys.stderr)
        return 2
    dirty = [path for path in paths if clean_file(path, check_only)]
    for path in dirty:
        print(f"{path}: {'has outputs' if check_only else 'outputs stripped'}")
    return 1 if dirty and check_only else 0


if __name__ == "__main__":
    sys.exit(main())
