"""How a lab declares its checks.

    lab = Lab("04-traffic-split", "Traffic splitting", uses=("istio", "bookinfo"))

    @lab.check(points=2, hint="Subsets are declared in a DestinationRule for the same host.")
    def every_subset_exists(config):
        ...
        fail("VirtualService default/reviews routes to subset 'v4', but ...")

A title (the docstring's first line) may say `{host}` and `{namespace}`: they are filled in from the target.
A check names what it needs as parameters (`config`, `target`, and for live checks `cluster`, `probe`); the runner
passes them. It passes by returning (optionally a message saying what it saw), fails with `fail`, and steps aside
with `skip`. `requires=` names checks that must pass first.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, NoReturn

# What the runner can hand a check. Live parameters exist only when grading against a cluster.
OFFLINE_PARAMETERS = frozenset({"config", "target"})
LIVE_PARAMETERS = frozenset({"cluster", "probe"})


class CheckFailed(Exception):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        # True when the check's own hints do not apply (they speak of Istio's API, the answer used the Gateway API)
        self.own_hints_only = False


class CheckSkipped(Exception):
    def __init__(self, message: str, counted: bool = True):
        super().__init__(message)
        self.message = message
        self.counted = counted


def fail(message: str, hint: str | None = None) -> NoReturn:
    """The learner's work is wrong: say what was found, what was expected and what to do."""
    raise CheckFailed(message, hint)


def skip(message: str, counted: bool = True) -> NoReturn:
    """The check cannot judge now. `counted=False` leaves its points out of the maximum (not the learner's doing)."""
    raise CheckSkipped(message, counted)


@dataclass
class Check:
    function: Callable[..., Any]
    id: str
    title: str
    points: int
    hints: tuple[str, ...]
    requires: tuple["Check", ...]
    live: bool
    parameters: tuple[str, ...]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def heading(self, target: "Target | None" = None) -> str:
        """The title with `{host}` and `{namespace}` filled in from the target (a workshop learner's own host)."""
        target = target or Target()
        return self.title.replace("{host}", target.host).replace("{namespace}", target.namespace)


@dataclass
class Target:
    """Where a learner's work lives: their namespace and the host Bookinfo is served on for them."""

    namespace: str = "default"
    host: str = "bookinfo.app"

    @classmethod
    def for_namespace(cls, namespace: str) -> "Target":
        """Learners sharing a cluster each get a namespace and the host `<namespace>.bookinfo.app`."""
        from labtools import settings

        shared = namespace != settings.DEFAULT_NAMESPACE
        return cls(namespace, f"{namespace}.{settings.BOOKINFO_HOST}" if shared else settings.BOOKINFO_HOST)


@dataclass
class Lab:
    id: str
    title: str
    uses: tuple[str, ...] = ("istio", "bookinfo")
    validate: bool = True  # add the standard "objects are valid" check
    checks: list[Check] = field(default_factory=list)
    folder: Path | None = None

    def __post_init__(self) -> None:
        if self.validate:
            from labtools.grading.standard import objects_are_valid

            self.checks.append(_make_check(objects_are_valid, points=0, hint=None, requires=(), live=False, title=None))

    @property
    def number(self) -> str:
        return self.id.split("-", 1)[0]

    def check(
        self,
        points: int = 1,
        hint: str | Iterable[str] | None = None,
        requires: Check | Iterable[Check] = (),
        live: bool = False,
        title: str | None = None,
    ) -> Callable[[Callable[..., Any]], Check]:
        def register(function: Callable[..., Any]) -> Check:
            check = _make_check(function, points, hint, requires, live, title)
            if any(c.id == check.id for c in self.checks):
                raise ValueError(f"lab {self.id}: two checks named {check.id}")
            self.checks.append(check)
            return check

        return register

    @property
    def setup_dir(self) -> Path | None:
        return self.folder / "setup" if self.folder else None

    @property
    def exercise_dir(self) -> Path | None:
        return self.folder / "exercise" if self.folder else None


def _make_check(function, points, hint, requires, live, title) -> Check:
    parameters = tuple(inspect.signature(function).parameters)
    allowed = OFFLINE_PARAMETERS | LIVE_PARAMETERS
    unknown = [p for p in parameters if p not in allowed]
    if unknown:
        raise TypeError(f"check {function.__name__} asks for {unknown}; checks may ask for {sorted(allowed)}")
    if not live and any(p in LIVE_PARAMETERS for p in parameters):
        raise TypeError(f"check {function.__name__} uses live evidence; declare it with live=True")
    hints = (hint,) if isinstance(hint, str) else tuple(hint or ())
    required = (requires,) if isinstance(requires, Check) else tuple(requires)
    doc = inspect.getdoc(function) or ""
    heading = title or (doc.splitlines()[0] if doc else function.__name__.replace("_", " ").capitalize())
    return Check(function, function.__name__, heading.rstrip("."), points, hints, required, live, parameters)
