"""Measure `labtools workshop` create / rerun / status / delete for 10, 30 and 100 learners against the mock API
server (tests/kube/kubefake.py: kmock over real HTTP), with added latency per request standing in for a remote
cluster, counting the requests the API server answers.

    python benchmarks/workshop.py                      # 10, 30, 100 learners at 20 ms per request
    python benchmarks/workshop.py --learners 100 --latency 0.05 --throttle-every 10

Targets at 20 ms per request (issue 16): create 100 learners < 60 s, status 100 < 15 s, a rerun of create with
nothing to do < 10 s. Status grades labs 03 and 04, solved by every learner. Each size runs on a fresh API server holding the offline stand-ins of Istio (istio-system) and
the test copy of the Istio release's samples (Bookinfo, httpbin, curl, fortio: every component the labs use).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for helpers in ("tests/kube", "tests/provision", "tests/classroom"):
    sys.path.insert(0, str(ROOT / helpers))

TARGETS = {"create": 60.0, "rerun": 10.0, "status": 15.0}


def measure(learners: int, latency: float, throttle_every: int, folder: Path) -> dict:
    import kubefake
    from instructor_helpers import EXTRA_KINDS, cache_release, install_mesh
    from labtools.classroom import workshop
    from labtools.kube import Cluster

    os.environ["LABTOOLS_CACHE"] = str(folder / "cache")
    os.environ["LABTOOLS_HOME"] = str(folder / "home")
    release = cache_release()
    figures: dict = {"learners": learners}
    with kubefake.RunningApiServer() as api:
        kubefake.declare(api.handler, EXTRA_KINDS)
        config = api.write_kubeconfig(folder / "instructor-kubeconfig", "shared")
        with Cluster.connect(context="shared", kubeconfig=config) as cluster:
            install_mesh(cluster)
            api.handler.latency, api.handler.throttle_every, api.handler.retry_after = latency, throttle_every, "1"
            api.handler.record_requests = False  # the mock's own cost would grow with every request it remembers

            def step(name: str, action) -> object:
                before, started = api.handler.requests_answered, time.perf_counter()
                result = action()
                figures[name] = (time.perf_counter() - started, api.handler.requests_answered - before)
                return result

            output = folder / "seats"
            step("create", lambda: workshop.create(cluster, learners, "learner", output, release=release, ingress="http://203.0.113.10"))
            step("rerun", lambda: workshop.create(cluster, learners, "learner", output, release=release, ingress="http://203.0.113.10"))
            # Every learner has done labs 03 and 04 (not counted), so status grades two labs for each of them.
            from functools import partial
            from instructor_helpers import solution_objects

            work = [partial(cluster.apply, solution_objects(lab, ns), dry_run=False)
                    for ns in workshop.find(cluster, "learner") for lab in ("03-virtual-service", "04-traffic-split")]
            workshop._parallel(workshop.WORKERS, work, lambda _: None, "", len(work))
            rows = step("status", lambda: workshop.status(cluster, "learner"))
            graded = sum(1 for row in rows for lab in row.labs.values() if lab.started)
            assert graded >= 2 * learners, f"status graded {graded} labs, fewer than {2 * learners}"
            figures["graded"] = graded
            assert len(rows) == learners, f"status saw {len(rows)} learners"
            step("delete", lambda: workshop.delete(cluster, "learner"))
            figures["throttled"], figures["retries"] = api.handler.throttled, cluster.retries
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, nargs="+", default=[10, 30, 100])
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every API request (default 0.02)")
    parser.add_argument("--throttle-every", type=int, default=0, help="answer every N-th request 429 (Retry-After: 1)")
    args = parser.parse_args()
    print(f"latency {args.latency * 1000:.0f} ms per request" + (f", every {args.throttle_every}th request 429" if args.throttle_every else ""))
    print(f"{'learners':>8} | {'create s':>8} {'reqs':>6} | {'rerun s':>7} {'reqs':>5} | {'status s':>8} {'reqs':>5} | "
          f"{'delete s':>8} {'reqs':>5} | labs graded | retries")
    failed = []
    for learners in args.learners:
        with tempfile.TemporaryDirectory(prefix="labtools-bench-") as tmp:
            f = measure(learners, args.latency, args.throttle_every, Path(tmp))
        print(f"{learners:>8} | {f['create'][0]:>8.1f} {f['create'][1]:>6} | {f['rerun'][0]:>7.1f} {f['rerun'][1]:>5} | "
              f"{f['status'][0]:>8.1f} {f['status'][1]:>5} | {f['delete'][0]:>8.1f} {f['delete'][1]:>5} | {f['graded']:>11} | {f['retries']}")
        if learners == 100 and abs(args.latency - 0.02) < 1e-9 and not args.throttle_every:
            failed += [f"{name} {f[name][0]:.1f} s > {limit:g} s" for name, limit in TARGETS.items() if f[name][0] > limit]
    if failed:
        print("targets missed at 100 learners, 20 ms: " + "; ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
