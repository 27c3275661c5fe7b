"""Measure the sequential split test (labtools.probes.sequential) by simulation: error rates and requests used.

    python benchmarks/sequential_split.py            # 20 000 runs per split, about a minute on one core
    python benchmarks/sequential_split.py --runs 2000 --seed 7

Every run feeds SequentialSplitTest (the class live checks use) with answers drawn at random from a true split
until it decides. Expected split: v1 80%, v3 20%, tolerance 10 points, promised error rates 1%. For comparison
the script also prints the exact error rates of the fixed 100-request samples the issue mentions.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labtools.probes.replies import percentile  # noqa: E402
from labtools.probes.sequential import SequentialSplitTest  # noqa: E402

EXPECTED = {"v1": 80, "v3": 20}
# (true share of v3, what a correct test must do there)
SPLITS = [(0.20, "pass"), (0.30, "fail"), (0.10, "fail"), (0.25, "either"), (0.15, "either"), (0.50, "fail"),
          (0.00, "fail")]


def simulate(share: float, runs: int, rng: random.Random) -> dict:
    fails, sizes, truncated = 0, [], 0
    for _ in range(runs):
        test = SequentialSplitTest(EXPECTED)
        while test.verdict is None:
            test.add("v3" if rng.random() < share else "v1")
        fails += test.verdict == "fail"
        truncated += test.truncated
        sizes.append(test.n)
    return {
        "fail": fails / runs,
        "mean": sum(sizes) / runs,
        "p50": percentile(sizes, 50),
        "p99": percentile(sizes, 99),
        "max": max(sizes),
        "truncated": truncated / runs,
    }


def fixed_sample_pass_probability(n: int, tolerance: float, true_share: float, expected_share: float = 0.2) -> float:
    """Exact probability that a fixed sample of n puts the observed share within `tolerance` of expected (passes)."""
    low, high = (expected_share - tolerance) * n, (expected_share + tolerance) * n
    return sum(math.comb(n, k) * true_share ** k * (1 - true_share) ** (n - k)
               for k in range(n + 1) if low - 1e-9 <= k <= high + 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20240517)
    options = parser.parse_args()
    rng = random.Random(options.seed)
    started = time.perf_counter()
    print(f"Sequential test, expected v1 80% / v3 20%, tolerance 10 points, {options.runs} runs per split "
          f"(seed {options.seed})")
    print(f"{'true split':>11} {'must':>6} {'P(fail)':>8} {'P(pass)':>8} {'mean n':>7} {'median':>6} {'p99 n':>6} "
          f"{'max n':>6} {'at cap':>7}")
    for share, must in SPLITS:
        r = simulate(share, options.runs, rng)
        split = f"{100 - 100 * share:g}/{100 * share:g}"
        print(f"{split:>11} {must:>6} {r['fail']:8.2%} {1 - r['fail']:8.2%} {r['mean']:7.0f} {r['p50']:6d} "
              f"{r['p99']:6d} {r['max']:6d} {r['truncated']:7.2%}")
    print(f"({time.perf_counter() - started:.0f} s)")
    print("\nFixed sample of 100 requests (exact binomial), for comparison:")
    for tolerance in (0.10, 0.05):
        false_fail = 1 - fixed_sample_pass_probability(100, tolerance, 0.2)
        false_pass = max(fixed_sample_pass_probability(100, tolerance, 0.3),
                         fixed_sample_pass_probability(100, tolerance, 0.1))
        print(f"  +-{100 * tolerance:g} points: false fail at 80/20 {false_fail:.1%}, "
              f"false pass at 70/30 or 90/10 up to {false_pass:.1%}")


if __name__ == "__main__":
    main()
