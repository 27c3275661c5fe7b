"""Instant queries to Prometheus's HTTP API (GET /api/v1/query?query=...).

The API answers `{"status": "success" | "error", "data": {"resultType": "vector", "result": [...]}, "error": ...}`;
each element of a vector result is `{"metric": {label: value}, "value": [<unix time>, "<sample value>"]}`
(Prometheus documentation, "HTTP API", expression queries).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

from labtools.probes.http import HttpClient
from labtools.probes.replies import ProbeError


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


def instant_query(client: HttpClient, query: str) -> list[Sample]:
    """The samples of an instant query; ProbeError when Prometheus does not answer or refuses the query."""
    reply = client.request("/api/v1/query?" + urlencode({"query": query}))
    where = f"Prometheus at {client.base_url}"
    hint = "Lab 01 exposes Prometheus as NodePort 30009: check the Service `prometheus` in istio-system."
    if not reply.answered:
        raise ProbeError(f"{where} does not answer: {reply.error} ({reply.detail}).", hint=hint)
    try:
        data = json.loads(reply.body)
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        raise ProbeError(f"{where} answered {reply.status} with something that is not the query API's JSON: "
                         "something other than Prometheus may listen there.", hint=hint) from None
    if not isinstance(data, dict) or data.get("status") != "success":
        problem = data.get("error") if isinstance(data, dict) else None
        raise ProbeError(f"{where} refused the query {query!r}: {problem or f'status {reply.status}'}.")
    result = (data.get("data") or {}).get("result") or []
    samples = []
    for item in result if isinstance(result, list) else []:
        value = item.get("value") if isinstance(item, dict) else None
        if isinstance(value, list) and len(value) == 2:
            samples.append(Sample(dict(item.get("metric") or {}), float(value[1])))
    return samples
