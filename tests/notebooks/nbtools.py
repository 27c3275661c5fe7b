"""Reading and running the lab notebooks for the tests."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
LABS = ROOT / "labs"
NOTEBOOKS = sorted(path for path in LABS.glob("*/*.ipynb") if path.stem == path.parent.name)
EXECUTION_TIMEOUT_S = 120  # per cell; no cell waits on anything here (no cluster), so this only stops a hang


def lab_id(path: Path) -> str:
    return path.parent.name


def notebook_file(lab: str) -> str:
    """A lab's notebook is named after its lab: labs/04-traffic-split/04-traffic-split.ipynb."""
    return f"{lab}.ipynb"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def teaching_words(notebook: nbformat.NotebookNode) -> int:
    """Words of markdown outside code blocks: the explanation a learner reads."""
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return len(re.findall(r"[A-Za-z0-9][\w'’-]*", text))


def save_target(cell: nbformat.NotebookNode) -> tuple[str, str] | None:
    """(file name, YAML body) of a `%%apply ... --save FILE` cell, else None."""
    if cell.cell_type != "code" or not cell.source.startswith("%%apply"):
        return None
    first, _, body = cell.source.partition("\n")
    args = shlex.split(first)[1:]
    return (args[args.index("--save") + 1], body) if "--save" in args else None


def exercise_cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [found for cell in notebook.cells if (found := save_target(cell))]


def copy_labs(target: Path) -> Path:
    """A scratch copy of labs/ (notebooks write into their exercise folders when they run)."""
    shutil.copytree(LABS, target, ignore=shutil.ignore_patterns(".work", ".ipynb_checkpoints", "__pycache__"))
    return target


def execute(path: Path, timeout: int = EXECUTION_TIMEOUT_S) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in a python3 kernel, in its own folder (as JupyterLab does)."""
    from nbclient import NotebookClient

    notebook = read(path)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return notebook


def outputs_html(cell: nbformat.NotebookNode) -> str:
    return "".join(str(out.get("data", {}).get("text/html", "")) for out in cell.get("outputs", []))


def outputs_text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "".join(parts)


def errors(notebook: nbformat.NotebookNode) -> list[str]:
    found = []
    for index, cell in enumerate(notebook.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"cell {index}: {out.get('ename')}: {out.get('evalue')}")
            if out.get("output_type") == "stream" and out.get("name") == "stderr" and "Traceback" in out.get("text", ""):
                found.append(f"cell {index}: traceback on stderr")
    return found
