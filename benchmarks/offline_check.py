"""Measure `labtools check 04 --offline solutions/04-traffic-split`, the command a learner runs most (target: 0.3 s).

    python benchmarks/offline_check.py             # 20 runs
    python benchmarks/offline_check.py --runs 50 --lab 09

Each run is a fresh process, as on the learner's machine. Prints wall-clock and CPU time (user + system) of the
child processes: on a busy machine the wall clock waits for a core, the CPU time does not.
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--lab", default="04-traffic-split")
    args = parser.parse_args()
    command = [sys.executable, "-m", "labtools", "check", args.lab, "--offline", str(ROOT / "solutions" / args.lab)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    walls, cpus = [], []
    for _ in range(args.runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True, timeout=60)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    print(f"labtools check {args.lab} --offline ({args.runs} runs, load average {os.getloadavg()[0]:.1f}):")
    print(f"  wall: min {min(walls):.3f} s, median {statistics.median(walls):.3f} s")
    print(f"  cpu:  min {min(cpus):.3f} s, median {statistics.median(cpus):.3f} s")


if __name__ == "__main__":
    main()
