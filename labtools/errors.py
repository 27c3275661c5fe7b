"""The errors labtools raises on purpose. The CLI turns each into a message, a hint and an exit code.

Exit codes (shared by every command):
    0  everything passed            2  bad usage or unreadable input
    1  a check failed               3  the environment is broken (no Docker, no cluster, a tool missing)
    4  labtools itself failed (a bug: an unexpected error; `labtools --debug ...` shows the traceback)
  130  interrupted (Ctrl-C)
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3
EXIT_INTERNAL = 4


class LabtoolsError(Exception):
    """A problem the user can act on: `message` says what is wrong, `hint` what to do about it."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(LabtoolsError):
    """The command was called wrongly: an unknown lab, a conflicting option."""


class InputError(LabtoolsError):
    """A file given to labtools cannot be read: missing, binary, not YAML, not a Kubernetes object."""


class EnvironmentBroken(LabtoolsError):
    """The machine or cluster is not in a state labtools can work with."""

    exit_code = EXIT_ENVIRONMENT
