"""Measure `labtools check LAB --offline FILES` as a learner runs it: a fresh process each time.

    python benchmarks/offline_check.py                         # lab 04 with its Gateway API and Istio API answers
    python benchmarks/offline_check.py --lab 03 --runs 10 solutions/03-virtual-service/gateway-api/

Prints the median wall time and the median CPU time (user + system) of the process. On a busy machine the wall time
grows with the load while the CPU time does not, so both are shown. The target for lab 04 with a Gateway API answer
is 0.3 s. Set LABTOOLS_ISTIO_CRDS and LABTOOLS_GATEWAY_API_CRDS to validate as on a machine after `labtools up`; the
first run fills the schema cache and is not counted.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ANSWERS = ["solutions/04-traffic-split/gateway-api/", "solutions/04-traffic-split/reviews.yaml"]


def measure(lab: str, answer: str, runs: int) -> tuple[float, float]:
    command = [sys.executable, "-m", "labtools", "check", lab, "--offline", answer, "--format", "json",
               "--output", os.devnull]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)  # warm the schema cache
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("answers", nargs="*", default=DEFAULT_ANSWERS)
    parser.add_argument("--lab", default="04")
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    print(f"load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    for answer in options.answers:
        wall, cpu = measure(options.lab, answer, options.runs)
        print(f"lab {options.lab} {answer}: median wall {wall:.3f} s, median CPU {cpu:.3f} s ({options.runs} runs)")


if __name__ == "__main__":
    main()
