"""Live pictures of real requests (bars that grow as answers arrive) and of the pods' sidecars; skipped, saying why,
without a cluster."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from labtools.errors import LabtoolsError, UsageError
from labtools.notebook.environment import SEE_MODE_NOTICE, ClusterState
from labtools.notebook.pictures import SplitBars
from labtools.notebook.views import ERROR, INFO, SKIP, Group, Notice, Table, View

INJECT = "sidecar.istio.io/inject"  # a pod's opt-out of (or into) sidecar injection


def traffic(state: ClusterState, make_probe: Callable[[], Any], path: str = "/productpage", n: int = 20, concurrency: int = 5,
            headers: Mapping[str, str] | None = None, show: str = "status",
            expected: Mapping[str, float] | None = None, host: str | None = None,
            from_pod: str | None = None, login: str | None = None, namespace: str | None = None) -> View:
    """Send `n` requests and draw where they went, live, as the answers arrive. Without a cluster: skipped.

    By default through the ingress gateway (127.0.0.1:8080, Host: bookinfo.app) to `path`. With `from_pod`, a
    label selector such as "app=ratings", `path` is a URL inside the mesh (http://productpage:9080/productpage)
    requested with curl from that pod, through its sidecar; the pod is looked for in `namespace` (default: the
    lab's).
    show="status": bars of status codes; show="versions": bars of the reviews version that answered (the
    reviews JSON carries it: /api/v1/products/0/reviews), against `expected` shares when given;
    show="pods": bars of the reviews pod that answered (its name is in the same JSON), else the status.
    `login="jason"` logs in to productpage first and sends its session cookie: productpage passes
    `end-user: jason` on to reviews only for a logged-in session, never from a header sent by the client.
    The result has `.replies` (labtools.probes.Replies) when the requests ran.
    """
    if show not in SHOWN:
        raise UsageError(f"show must be one of {', '.join(map(repr, SHOWN))}, not {show!r}")
    if namespace and not from_pod:
        raise UsageError("namespace says where the pod named by from_pod runs; give from_pod too.")
    if not state.up:
        return skipped(f"sending {n} requests to {path}", state)
    probe = make_probe()
    if login:
        try:
            headers = {**(headers or {}), **probe.login(login)}
        except LabtoolsError as problem:
            return Notice(ERROR, problem.message, hint=problem.hint)
    if from_pod:
        where = f"from a pod with {from_pod}" + (f" in namespace {namespace}" if namespace else "")
        stream = lambda: probe.client(from_pod, namespace).stream(path, n, headers, concurrency=concurrency)  # noqa: E731
    else:
        client = probe.http(host)
        where = f"through the ingress (Host: {client.host})"
        stream = lambda: client.stream(path, n, concurrency, headers=headers)  # noqa: E731
    bars = SplitBars(expected if show == "versions" else None, title=f"{n} requests to {path} {where}")
    replies: list[Any] = []
    shown = SHOWN[show]

    def outcomes():
        for reply in stream():
            replies.append(reply)
            yield shown(reply)

    try:
        bars.feed(outcomes())
    except LabtoolsError as problem:
        return Group(bars, Notice(ERROR, problem.message, hint=problem.hint))
    from labtools.probes import Replies

    summary = Replies(replies)
    if replies and not any(r.answered for r in replies):
        first = replies[0]
        return Group(bars, Notice(ERROR, f"Nothing answered {where}: {first.error} ({first.detail}).",
                                  hint="Is the cluster running? `labtools status` tells."))
    return TrafficView(bars, Notice(INFO, summary.describe()), summary)

def sidecars(state: ClusterState, namespace: str) -> View:
    """Every pod in the namespace and whether it has an istio-proxy sidecar (live only)."""
    if not state.up:
        return skipped(f"listing the pods of {namespace}", state)
    from labtools.meshconfig import has_sidecar

    try:
        pods = state.cluster.pods(namespace)
    except LabtoolsError as problem:
        return Notice(ERROR, problem.message, hint=problem.hint)
    rows, bare, outside = [], 0, []
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        spec = pod.get("spec") or {}
        has = has_sidecar(pod)
        opted_out = not has and _opts_out_of_injection(pod)
        if opted_out:
            outside.append(pod["metadata"]["name"])
        bare += 0 if has or opted_out else 1
        containers = ", ".join(c.get("name", "?") for c in spec.get("containers") or [])
        rows.append((pod["metadata"]["name"], (pod.get("status") or {}).get("phase", "?"), containers,
                     "✔ istio-proxy" if has else f"✘ none (it opts out: {INJECT}=false)" if opted_out else "✘ none"))
    notes = []
    if bare:
        notes.append(f"{bare} pod(s) have no sidecar: they started before the namespace was labelled "
                     "istio-injection=enabled (injection happens only when a pod is created). Restart them: "
                     f"`kubectl rollout restart deployment -n {namespace}`.")
    if outside:
        notes.append(f"{', '.join(outside)} {'opts' if len(outside) == 1 else 'opt'} out of injection ({INJECT}: "
                     "\"false\"): outside the mesh on purpose, with plain-text requests that carry no identity.")
    if not bare:
        notes.insert(0, "Every other pod carries a sidecar." if outside
                     else "Every pod carries a sidecar: all their traffic goes through Envoy.")
    return Table(("Pod", "Phase", "Containers", "Sidecar"), rows, title=f"Pods in {namespace}", note=" ".join(notes))


class TrafficView(Group):
    """Bars of the answers and a one-line summary; `.replies` (labtools.probes.Replies) for further pictures."""

    def __init__(self, bars: SplitBars, summary: Notice, replies: Any):
        super().__init__(bars, summary)
        self.bars = bars
        self.summary = summary
        self.replies = replies

    def _ipython_display_(self) -> None:
        from IPython.display import display

        shown = self.bars.shown_here()  # drawn live by this very cell: add only the summary below
        view = self.summary if shown else self
        display(view.bundle(), raw=True)


def skipped(what: str, state: ClusterState) -> Notice:
    return Notice(SKIP, f"Skipped: {what} needs your cluster.", [SEE_MODE_NOTICE])


def _opts_out_of_injection(pod: dict) -> bool:
    """Whether a pod asks Istio's injector to leave it alone: the label, or the older annotation, set to "false"."""
    meta = pod.get("metadata") or {}
    return "false" in ((meta.get("labels") or {}).get(INJECT), (meta.get("annotations") or {}).get(INJECT))


def _reviews_pod(reply: Any) -> str:
    """The reviews pod that answered (the reviews JSON names it), else what the request got ("503", "timeout")."""
    from labtools.probes.bookinfo import reviews_pod

    return reviews_pod(reply.body) or reply.outcome


# What lab.traffic(show=...) draws a bar for, per reply (labtools.probes.Reply; None counts as "other").
SHOWN: dict[str, Callable[[Any], str | None]] = {
    "status": lambda reply: reply.outcome,
    "versions": lambda reply: reply.version,
    "pods": _reviews_pod,
}
