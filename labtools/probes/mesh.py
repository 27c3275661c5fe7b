"""Requests from inside the mesh: commands run in a client pod (through labtools.kube's exec), so they leave through
that pod's sidecar and meet the mesh's routing, faults, retries and circuit breakers.

curl (Istio's `curl` sample, image curlimages/curl): one exec runs curl with several URLs, and curl's --write-out
prints a line with a random marker, the status, the time and curl's exit code after each transfer (failed ones
too: status 000 and the exit code say why). Bodies stay whole for the reviews JSON. Concurrency comes from several
execs at once, each a sequential curl.

fortio (Istio's `fortio-deploy` sample): `fortio load -json -` writes its result as JSON, with `RetCodes` counting
the statuses and `DurationHistogram` the latencies in seconds (fortio's README documents both).
"""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generator, Mapping

from labtools.probes.concurrent import in_order
from labtools.meshconfig.model import has_sidecar
from labtools.probes.pods import app_container, find_pod, pod_name
from labtools.probes.replies import (
    FAILED, MAX_BODY_CHARS, REFUSED, RESET, TIMEOUT, UNRESOLVED, ProbeError, Replies, Reply,
)

if TYPE_CHECKING:
    from labtools.kube import ClusterAPI

DEFAULT_TIMEOUT_S = 10.0
MAX_REQUESTS_PER_EXEC = 20
# curl's exit codes (curl(1), EXIT CODES) for requests that got no HTTP answer.
CURL_ERRORS = {6: UNRESOLVED, 7: REFUSED, 28: TIMEOUT, 52: RESET, 56: RESET}


class MeshClient:
    """Runs requests from one client pod, picked by label selector (or named), in its application container."""

    def __init__(self, cluster: ClusterAPI, namespace: str = "default", selector: str = "app=curl", pod: str | None = None,
                 container: str | None = None, timeout: float = DEFAULT_TIMEOUT_S):
        self.cluster = cluster
        self.namespace = namespace
        self.selector = selector
        self.timeout = timeout
        self._pod_name = pod
        self._container = container
        self._pod: dict[str, Any] | None = None

    # --- the pod ---------------------------------------------------------------------------------------------
    def pod(self) -> dict[str, Any]:
        if self._pod is None:
            if self._pod_name:
                found = self.cluster.get("v1", "Pod", self._pod_name, self.namespace)
                if found is None:
                    raise ProbeError(f"Pod {self.namespace}/{self._pod_name} does not exist.",
                                     hint=f"kubectl get pods -n {self.namespace} lists the pods there.")
                self._pod = found
            else:
                self._pod = find_pod(self.cluster, self.namespace, self.selector)
        return self._pod

    @property
    def name(self) -> str:
        return pod_name(self.pod())

    @property
    def has_sidecar(self) -> bool:
        return has_sidecar(self.pod())

    def run(self, command: list[str], timeout: float) -> Any:
        """Run a command in the client's application container; the kube layer's ExecResult."""
        container = self._container or app_container(self.pod())
        return self.cluster.exec(self.name, self.namespace, command, container=container, timeout=timeout)

    # --- curl ------------------------------------------------------------------------------------------------
    def stream(self, url: str, n: int = 1, headers: Mapping[str, str] | None = None, method: str = "GET",
               timeout: float | None = None, concurrency: int = 1) -> Generator[Reply, None, None]:
        """`n` curl requests to `url`, yielded in the order they were sent (stop early by closing the iterator)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        limit = timeout or self.timeout
        self.pod()  # looked up once, here, not by each worker thread at once
        per_exec = max(1, min(MAX_REQUESTS_PER_EXEC, math.ceil(n / max(1, concurrency))))
        units = math.ceil(n / per_exec)

        def work(unit: int) -> list[Reply]:
            first = unit * per_exec
            count = min(per_exec, n - first)
            return self._curl_batch(url, count, first, headers or {}, method, limit)

        return in_order(work, units, concurrency)

    def curl(self, url: str, n: int = 1, headers: Mapping[str, str] | None = None, method: str = "GET",
             timeout: float | None = None, concurrency: int = 1) -> Replies:
        return Replies(self.stream(url, n, headers, method, timeout, concurrency))

    def _curl_batch(self, url: str, count: int, first_index: int, headers: Mapping[str, str], method: str,
                    timeout: float) -> list[Reply]:
        marker = "@@labtools-" + secrets.token_hex(6) + "@@"
        command = curl_command(url, count, marker, headers, method, timeout)
        result = self.run(command, timeout=count * (timeout + 1) + 15)
        replies = parse_curl_output(result.stdout, marker, first_index)
        if len(replies) != count:
            said = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise ProbeError(
                f"curl in pod {self.namespace}/{self.name} did not report its {count} request(s) "
                f"(exit code {result.exit_code}): {' / '.join(said) or 'no output'}",
                hint="The client pod needs curl (Istio's samples/curl uses the curlimages/curl image).",
            )
        return replies

    # --- fortio ----------------------------------------------------------------------------------------------
    def fortio_load(self, url: str, connections: int = 3, requests: int = 30, qps: float = 0,
                    headers: Mapping[str, str] | None = None, binary: str = "fortio",
                    timeout: float = 60) -> "LoadResult":
        """`fortio load` from the client pod: `requests` calls over `connections` parallel connections."""
        command = [binary, "load", "-c", str(connections), "-qps", f"{qps:g}", "-n", str(requests),
                   "-loglevel", "Warning", "-json", "-"]
        for name, value in (headers or {}).items():
            command += ["-H", f"{name}: {value}"]
        result = self.run(command + [url], timeout=timeout)
        try:
            return parse_fortio_json(result.stdout)
        except ValueError as problem:
            said = (result.stderr or "").strip().splitlines()[-3:]
            raise ProbeError(
                f"fortio in pod {self.namespace}/{self.name} gave no result ({problem}; exit code "
                f"{result.exit_code}): {' / '.join(said) or 'no output'}",
                hint="The client pod must run the fortio image "
                     "(Istio's samples/httpbin/sample-client/fortio-deploy.yaml).",
            ) from None


def curl_command(url: str, count: int, marker: str, headers: Mapping[str, str], method: str = "GET",
                 timeout: float = DEFAULT_TIMEOUT_S) -> list[str]:
    """curl fetching `url` `count` times in one process, printing a marker line after each transfer."""
    command = ["curl", "--silent", "--show-error", "--max-time", f"{timeout:g}", "--request", method.upper()]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    # %{exitcode} needs curl 7.75 (2021); older curls print nothing there, which parses as "no exit code".
    command += ["--write-out", "\\n" + marker + " %{http_code} %{time_total} %{exitcode}\\n"]
    return command + [url] * count


def parse_curl_output(stdout: str, marker: str, first_index: int = 0) -> list[Reply]:
    """Bodies and marker lines back into Replies (indexes from `first_index`)."""
    replies: list[Reply] = []
    segments = stdout.split("\n" + marker + " ")
    # segments[0] is the first body; each later segment starts with "<code> <time> <exit>\n" and the next body.
    body = segments[0]
    for segment in segments[1:]:
        line, _, rest = segment.partition("\n")
        fields = line.split()
        code = int(fields[0]) if fields and fields[0].isdigit() else 0
        latency = _float(fields[1]) if len(fields) > 1 else 0.0
        exit_code = int(fields[2]) if len(fields) > 2 and fields[2].isdigit() else None
        index = first_index + len(replies)
        if code:
            replies.append(Reply(index, code, latency, body=body[:MAX_BODY_CHARS]))
        else:
            error = CURL_ERRORS.get(exit_code or -1, FAILED)
            detail = f"curl exit code {exit_code}" if exit_code is not None else "no HTTP answer"
            replies.append(Reply(index, None, latency, error=error, detail=detail))
        body = rest
    return replies


def _float(text: str) -> float:
    try:
        return float(text.replace(",", "."))  # some locales print a decimal comma
    except ValueError:
        return 0.0


@dataclass(frozen=True)
class LoadResult:
    """What `fortio load` measured: status -> count (-1 counts socket errors) and latencies in seconds."""

    requests: int
    statuses: dict[int, int]
    connections: int
    qps: float
    latency_s: dict[str, float] = field(default_factory=dict)  # "p50", "p90", "p99", "max", "avg"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def with_status(self, status: int) -> int:
        return self.statuses.get(status, 0)

    def describe(self) -> str:
        shown = ", ".join(f"{'socket error' if s == -1 else s} x{c}" for s, c in sorted(self.statuses.items()))
        return f"{self.requests} requests over {self.connections} connections: {shown or 'no answers'}"


def parse_fortio_json(stdout: str) -> LoadResult:
    """The JSON result `fortio load -json -` prints (text before it, if any, is skipped)."""
    start = stdout.find("{")
    if start < 0:
        raise ValueError("no JSON in the output")
    data, _ = json.JSONDecoder().raw_decode(stdout[start:])
    if not isinstance(data, dict) or not isinstance(data.get("RetCodes"), dict):
        raise ValueError("the JSON has no RetCodes")
    statuses = {int(code): int(count) for code, count in data["RetCodes"].items()}
    histogram = data.get("DurationHistogram") or {}
    latency = {f"p{_label(p.get('Percentile'))}": float(p.get("Value", 0)) for p in histogram.get("Percentiles") or []
               if isinstance(p, dict)}
    for key, name in (("Max", "max"), ("Avg", "avg")):
        if isinstance(histogram.get(key), (int, float)):
            latency[name] = float(histogram[key])
    return LoadResult(
        requests=int(histogram.get("Count") or sum(statuses.values())),
        statuses=statuses,
        connections=int(data.get("NumThreads") or data.get("NumConnections") or 0),
        qps=float(data.get("ActualQPS") or 0.0),
        latency_s=latency,
        raw=data,
    )


def _label(percentile: Any) -> str:
    return f"{float(percentile):g}" if isinstance(percentile, (int, float)) else str(percentile)
