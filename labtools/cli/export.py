"""`labtools export`: one JSON file with the learner's progress, for the instructor's `labtools report`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from labtools.cli import app


@app.command("export")
def export(
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Where to write (default: labtools-progress-<name>.json here; - for stdout)."
    ),
) -> None:
    """Write your progress over all labs to one file to hand to your instructor."""
    import json

    from labtools.classroom import progress as log
    from labtools.cli.output import console, write_or_print
    from labtools.cli.progress import warn

    learner = log.current_learner()
    labs, problems = log.summarize_log()
    warn(problems)
    document = log.export_document(learner, labs)
    from labtools.classroom.classreport import check_document
    from labtools.errors import EnvironmentBroken, InputError

    try:  # what `labtools report` would refuse is not handed out
        check_document("the export", document)
    except InputError as problem:
        raise EnvironmentBroken(f"Cannot export: {problem.message}",
                                hint="The progress log holds a record labtools cannot export; see `labtools progress`.") from None
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if output is not None and str(output) == "-":
        write_or_print(text, None)
        return
    target = output or Path(log.export_file_name(learner))
    write_or_print(text, target)
    if not learner.name:
        warn(["no name is set, so your instructor sees only a learner id; "
              'set it with `labtools progress --whoami "Your Name"` and export again'])
    passed = sum(1 for entry in labs if entry.status == log.PASSED)
    console(stderr=True).print(f"Wrote {target}: {len(document['labs'])} lab(s) attempted, {passed} passed. "
                               "Hand this file to your instructor.", markup=False, soft_wrap=True)
