"""`%%apply`: the cell's YAML, validated and applied (all or nothing) to the lab opened with open_lab.

    %%apply --save gateway.yaml        save as the learner's answer, validate, apply when a cluster answers
    %%apply --dry-run                  validate only; needs no cluster

Registered by `open_lab(...)`, or by `%load_ext labtools.notebook`.
"""

from __future__ import annotations

from typing import Any

from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from labtools import settings
from labtools.errors import LabtoolsError
from labtools.notebook.views import ERROR, Notice, View, in_ipython


@magic_arguments()
@argument("--dry-run", action="store_true", help="Validate only: nothing is sent to the cluster.")
@argument("--save", metavar="FILE", help="Save the cell as exercise/FILE first (the answer offline grading reads).")
@argument("--namespace", "-n", default=None, help="Namespace for objects that name none (default: the lab's).")
def apply(line: str, cell: str) -> View:
    """Validate the YAML in this cell and apply it to the lab cluster: all of it, or nothing."""
    from labtools.notebook import session as sessions

    args = parse_argstring(apply, line)
    lab = sessions.current()
    if lab is None:
        if args.save:
            return Notice(ERROR, "Not applied: --save needs a lab to save into.",
                          hint='Open the lab first: lab = open_lab("02")')
        from labtools.notebook import applying
        from labtools.notebook.environment import reach_cluster

        return applying.apply_sources([(cell, "<cell>")], args.namespace or settings.DEFAULT_NAMESPACE,
                                      args.dry_run, reach_cluster)
    if args.namespace and args.namespace != lab.namespace:
        lab = sessions.LabSession(lab.lab, args.namespace, lab.context, lab.kubeconfig)
    # the %%apply line is the cell's line 1: messages count lines as the learner sees them
    return lab.apply(cell if cell.endswith("\n") else cell + "\n", dry_run=args.dry_run, save=args.save,
                     cell_lines_before=1)


def register(shell: Any = None) -> bool:
    """Make %%apply available in the running IPython (no-op outside IPython), and show labtools' own errors as a
    message with its hint instead of a traceback. True when registered."""
    shell = shell or in_ipython()
    if shell is None:
        return False
    shell.register_magic_function(apply, magic_kind="cell", magic_name="apply")
    shell.set_custom_exc((LabtoolsError,), show_error)
    return True


def show_error(shell: Any, etype: type, value: LabtoolsError, tb: Any, tb_offset: Any = None) -> list[str]:
    """A LabtoolsError is a message for the learner (what is wrong, what to do), not a bug: show it as one. The
    cell still counts as failed, so "Run all" stops here as it would for any error."""
    from IPython.display import display

    notice = Notice(ERROR, value.message, hint=value.hint)
    display(notice.bundle(), raw=True)
    return [f"{etype.__name__}: {value.message}"]
