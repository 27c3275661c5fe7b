"""A sequential test for weighted routing: does traffic split the way the weights say?

The question a lab asks: "reviews gets 80% to v1 and 20% to v3". A fixed sample answers it badly: 100 requests with
a tolerance of 10 points pass a 70/30 split about half the time, and a tolerance of 5 points fails a correct split
about one time in six (exact binomial; see the benchmark). A sequential test looks at each answer as it arrives and
stops as soon as the evidence decides.

The test (Wald's sequential probability ratio test, two of them per share, after Sobel and Wald 1949)
--------------------------------------------------------------------------------------------------
Every answer names a version; answers are independent draws from the split the proxies apply. Read answers in the
order the requests were *sent* (not the order they came back: a slower version would otherwise be under-counted at
the moment of stopping). For a version with expected share p and a tolerance d (10 points):

    H0: the share is p            H+: the share is p + d           H-: the share is p - d

For one alternative p1, after n answers of which s named the version, the log likelihood ratio is

    L_n = s * log(p1 / p) + (n - s) * log((1 - p1) / (1 - p))

and Wald's test stops at the first n where L_n >= A = log((1 - beta) / alpha) (reject H0: the share is off) or
L_n <= B = log(beta / (1 - alpha)) (accept H0). Wald's inequalities bound the error rates by about alpha and beta
(the overshoot past a boundary makes them smaller in practice). Because the binomial family has a monotone
likelihood ratio, the chance of rejecting only grows as the true share moves farther from p, so "catches 70/30"
also means "catches 60/40". Shares strictly between p and p +- d are the indifference region: either verdict is
acceptable there, and those are also the shares where the test needs the most answers.

The split passes when both tests (towards H+ and towards H-) have accepted H0, and fails as soon as either rejects:
    false fail at the expected split  <= alpha(+) + alpha(-)
    false pass at p + d (or p - d)    <= beta of the test on that side.
With two versions one share decides the split (the other is its complement), so one pair of tests runs. With k > 2
versions each version's share gets its own pair, and alpha is divided among all the tests (Bonferroni). A version
the weights do not name has share 0: a single answer from it fails the split (a correct configuration never sends
one there). A share of 100% (all of jason's requests to v2) is the same test with one side: it passes after
log(beta)/log(1 - d) answers in a row (46 with the defaults) and fails at the first stray answer.

Truncation: the test never uses more than `max_requests` answers. A test still undecided then decides by the sign
of L_n (the likelihood ratio test at that sample size); at the design points this happens in well under 1% of runs.

Design rates: Wald's bounds are approximations, and truncation and the discrete steps move the real rates a little
either way. The tests are therefore built with 80% of the promised rates (alpha_i = 0.8 * false_fail / tests,
beta_i = 0.8 * false_pass), and the promise is checked by simulation: tests/probes/test_sequential.py (seeded,
in the suite) and benchmarks/sequential_split.py (more runs).

Measured with benchmarks/sequential_split.py (20 000 runs per split, expected 80/20, the defaults):
    true split   verdict         mean requests   99th percentile   runs that reached the cap of 800
    80/20        0.73% fail      223             590               0.14%
    70/30        0.70% pass      198             602               0.18%
    90/10        0.54% pass      150             426               0
    75/25, 85/15 (indifference)  436, 328        800, 800          18%, 7%
For comparison, a fixed sample of 100 with +-10 points passes 70/30 up to 55% of the time (exact binomial).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Callable, Iterable, Mapping, TypeVar

Answer = TypeVar("Answer")


class Verdict(StrEnum):
    PASS = "pass"  # the test accepted H0: the share is as expected
    FAIL = "fail"  # it rejected H0


class Reason(StrEnum):
    """Why a SplitDecision came out as it did."""

    WITHIN = "within"
    TOO_HIGH = "too_high"
    TOO_LOW = "too_low"
    UNEXPECTED = "unexpected"
    ERRORS = "errors"
    EXHAUSTED = "exhausted"


PASS, FAIL = Verdict.PASS, Verdict.FAIL
WITHIN, TOO_HIGH, TOO_LOW, UNEXPECTED, ERRORS, EXHAUSTED = tuple(Reason)
DESIGN_MARGIN = 0.8


@dataclass
class _SideTest:
    """Wald's test of H0 (share p0) against one alternative share p1 for one version."""

    version: str
    p0: float
    p1: float
    upper: float  # A
    lower: float  # B
    verdict: Verdict | None = None  # PASS (accepted H0) or FAIL (rejected it)

    def llr(self, hits: int, n: int) -> float:
        return _term(hits, self.p1, self.p0) + _term(n - hits, 1 - self.p1, 1 - self.p0)

    def update(self, hits: int, n: int) -> None:
        if self.verdict is None:
            ratio = self.llr(hits, n)
            if ratio >= self.upper:
                self.verdict = FAIL
            elif ratio <= self.lower:
                self.verdict = PASS

    def truncate(self, hits: int, n: int) -> None:
        if self.verdict is None:
            self.verdict = FAIL if self.llr(hits, n) > 0 else PASS


def _term(count: int, numerator: float, denominator: float) -> float:
    """count * log(numerator / denominator), where 0 * log(0) = 0 and log(0) = -inf."""
    if count == 0:
        return 0.0
    if numerator == 0:
        return -math.inf
    return count * math.log(numerator / denominator)


class SequentialSplitTest:
    """Feed it the version each answer names, in the order the requests were sent; it says when it has decided.

        test = SequentialSplitTest({"v1": 80, "v3": 20})
        for version in versions:
            if test.add(version):
                break
        test.verdict  # "pass" or "fail"

    `expected` maps versions to weights (any scale: 80/20 or 0.8/0.2). `tolerance` is the distance in share
    (0.10 = 10 points) that must be caught; `false_fail` and `false_pass` are the error rates promised at the
    expected split and at a split `tolerance` away.
    """

    def __init__(
        self,
        expected: Mapping[str, float],
        tolerance: float = 0.10,
        false_fail: float = 0.01,
        false_pass: float = 0.01,
        max_requests: int = 800,
    ):
        total = float(sum(expected.values())) if expected else 0.0
        if not expected or total <= 0 or any(w < 0 for w in expected.values()):
            raise ValueError(f"expected weights must be non-negative and not all zero, got {dict(expected)}")
        if not 0 < tolerance < 1:
            raise ValueError(f"tolerance is a share between 0 and 1 (0.1 = 10 points), got {tolerance}")
        if not (0 < false_fail < 0.5 and 0 < false_pass < 0.5):
            raise ValueError("false_fail and false_pass must lie between 0 and 0.5")
        if max_requests < 1:
            raise ValueError("max_requests must be at least 1")
        self.expected = {version: weight / total for version, weight in expected.items() if weight > 0}
        self.tolerance = tolerance
        self.false_fail = false_fail
        self.false_pass = false_pass
        self.max_requests = max_requests
        self.counts: Counter[str] = Counter()
        self.n = 0
        self.verdict: Verdict | None = None
        self.reason: Reason | None = None  # set with the verdict
        self.deciding_version = ""
        self.truncated = False
        self._sides = self._build_sides()

    def _build_sides(self) -> list[_SideTest]:
        versions = sorted(self.expected, key=lambda v: (self.expected[v], v))
        # Two versions: one share determines the other, so test one of them (the smaller, by convention).
        tested = versions[:1] if len(versions) == 2 else versions
        plans = []
        for version in tested:
            p0 = self.expected[version]
            for p1 in (p0 + self.tolerance, p0 - self.tolerance):
                if 0 <= p1 <= 1 and not math.isclose(p1, p0):
                    plans.append((version, p0, p1))
        alpha = DESIGN_MARGIN * self.false_fail / max(len(plans), 1)
        beta = DESIGN_MARGIN * self.false_pass
        upper, lower = math.log((1 - beta) / alpha), math.log(beta / (1 - alpha))
        return [_SideTest(version, p0, p1, upper, lower) for version, p0, p1 in plans]

    def add(self, version: str) -> str | None:
        """Count one answer; return the verdict once there is one (then further answers are ignored)."""
        if self.verdict is not None:
            return self.verdict
        self.n += 1
        self.counts[version] += 1
        if version not in self.expected:
            return self._decide(FAIL, UNEXPECTED, version)
        for side in self._sides:
            side.update(self.counts[side.version], self.n)
        self._conclude()
        if self.verdict is None and self.n >= self.max_requests:
            self.truncate()
        return self.verdict

    def truncate(self) -> str | None:
        """Decide now with what has been seen (the likelihood ratio at this sample size). None when nothing was seen."""
        if self.verdict is not None or self.n == 0:
            return self.verdict
        self.truncated = True
        for side in self._sides:
            side.truncate(self.counts[side.version], self.n)
        self._conclude()
        return self.verdict

    def _conclude(self) -> None:
        rejected = next((side for side in self._sides if side.verdict == FAIL), None)
        if rejected is not None:
            self._decide(FAIL, TOO_HIGH if rejected.p1 > rejected.p0 else TOO_LOW, rejected.version)
        elif all(side.verdict == PASS for side in self._sides):
            self._decide(PASS, WITHIN, "")

    def _decide(self, verdict: Verdict, reason: Reason, version: str) -> Verdict:
        self.verdict, self.reason, self.deciding_version = verdict, reason, version
        return verdict

    def share(self, version: str) -> float:
        return self.counts[version] / self.n if self.n else 0.0


@dataclass(frozen=True)
class SplitDecision:
    """The outcome of a split test over live traffic, with what was observed.

    `passed` is True or False, or None when the traffic ran out before a decision (see `reason`).
    `counts` are the versions named by the answers that were used, `sent` every request sent (errors included).
    """

    passed: bool | None
    reason: Reason
    message: str
    counts: dict[str, int]
    observed: int
    sent: int
    unidentified: int
    expected: dict[str, float]
    tolerance: float
    truncated: bool = False
    statuses: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.passed is True

    def share(self, version: str) -> float:
        return self.counts.get(version, 0) / self.observed if self.observed else 0.0


def describe_counts(counts: Mapping[str, int], total: int) -> str:
    """'168 of 210 requests reached v1 (80.0%), 42 reached v3 (20.0%)'."""
    parts = []
    for index, (version, count) in enumerate(sorted(counts.items(), key=lambda item: (-item[1], item[0]))):
        percent = f"({100 * count / total:.1f}%)" if total else ""
        head = f"{count} of {total} requests" if index == 0 else f"{count}"
        parts.append(f"{head} reached {version} {percent}")
    return ", ".join(parts) if parts else "no request reached any version"


def _percent(share: float) -> str:
    return f"{100 * share:g}%"


def _expected_text(expected: Mapping[str, float]) -> str:
    return ", ".join(f"{version} {_percent(share)}" for version, share in sorted(expected.items()))


def decide_split(
    answers: Iterable[Answer],
    expected: Mapping[str, float],
    classify: Callable[[Answer], str | None],
    tolerance: float = 0.10,
    false_fail: float = 0.01,
    false_pass: float = 0.01,
    max_requests: int = 800,
    max_unidentified: float = 0.05,
    status_of: Callable[[Answer], str] = lambda answer: "",
) -> SplitDecision:
    """Run the sequential test over `answers` (in the order the requests were sent) and say what was seen.

    `classify` names the version an answer came from, or None when it names none (an error page, a timeout).
    Unidentified answers are not evidence about the split and are left out of the test, but more than
    `max_unidentified` of the requests (and at least 3) without a version stop the test: the split cannot be judged
    while the route fails. Stop consuming `answers` as soon as the test decides (callers stream requests lazily).
    """
    test = SequentialSplitTest(expected, tolerance, false_fail, false_pass, max_requests)
    sent = unidentified = 0
    statuses: Counter[str] = Counter()
    failures: Counter[str] = Counter()  # statuses of the answers that named no version
    for answer in answers:
        sent += 1
        status = status_of(answer)
        if status:
            statuses[status] += 1
        version = classify(answer)
        if version is None:
            unidentified += 1
            failures[status or "no status"] += 1
            if unidentified >= 3 and unidentified > max_unidentified * sent:
                return _decision(test, None, ERRORS, sent, unidentified, statuses, failures)
        elif test.add(version) is not None:
            break
        if sent >= max_requests:
            break
    if test.verdict is None and sent >= max_requests:
        test.truncate()  # the cap: decide with what was seen
    if test.verdict is None:
        return _decision(test, None, EXHAUSTED, sent, unidentified, statuses, failures)
    assert test.reason is not None
    return _decision(test, test.verdict == PASS, test.reason, sent, unidentified, statuses, failures)


def _decision(test: SequentialSplitTest, passed: bool | None, reason: Reason, sent: int, unidentified: int,
              statuses: Counter[str], failures: Counter[str]) -> SplitDecision:
    counts = dict(test.counts)
    seen = describe_counts(counts, test.n)
    expected = _expected_text(test.expected)
    certainty = f"{100 * (1 - test.false_pass):g}%"
    points = f"{100 * test.tolerance:g} points"
    version = test.deciding_version
    if reason == WITHIN:
        message = (f"The split matches {expected}: {seen}. A split {points} off would have been caught "
                   f"with {certainty} certainty.")
    elif reason in (TOO_HIGH, TOO_LOW):
        direction = "Too much" if reason == TOO_HIGH else "Too little"
        share = test.share(version)
        message = (f"{direction} traffic reaches {version}: {test.counts[version]} of {test.n} requests "
                   f"({100 * share:.1f}%), expected {_percent(test.expected[version])}. Observed: {seen}.")
    elif reason == UNEXPECTED:
        message = (f"{test.counts[version]} of {test.n} requests reached {version}, which should get no traffic "
                   f"(expected only {expected}). Observed: {seen}.")
    elif reason == ERRORS:
        shown = ", ".join(f"{status} x{count}" for status, count in failures.most_common())
        message = (f"{unidentified} of {sent} requests got no answer from any version ({shown}), "
                   "so the split cannot be judged until the route answers.")
    else:
        message = (f"The traffic ended after {sent} requests, before the test could decide "
                   f"(it needs up to {test.max_requests}). Observed: {seen}.")
    if test.truncated and passed is not None:
        message += f" (Decided at the limit of {test.max_requests} requests.)"
    return SplitDecision(
        passed=passed, reason=reason, message=message, counts=counts, observed=test.n, sent=sent,
        unidentified=unidentified, expected=dict(test.expected), tolerance=test.tolerance,
        truncated=test.truncated, statuses=dict(statuses),
    )
