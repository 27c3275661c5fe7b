"""Reading a proxy's Envoy admin interface: statistics, configuration dump, the workload certificate.

Inside a cluster the admin port (15000) listens on the pod's loopback only, so it is reached by exec
(`pilot-agent request GET stats` in the istio-proxy container: the command Istio's own docs use) or through a
port-forward to 15000. Both go through labtools.kube. HttpAdmin talks to an admin URL directly (tests, local Envoy).

Statistics come in Envoy's text form, one `name: value` a line. Cluster statistics are named
`cluster.<stat prefix>.<stat>`; Istio sets each cluster's alt_stat_name to its name followed by ";" (pilot's
DelimitedStatsPrefix), so a sidecar writes
`cluster.outbound|8000||httpbin.default.svc.cluster.local;.upstream_rq_retry`.
Plain Envoy writes `cluster.<name>.<stat>`. EnvoyStats.cluster() reads both.
Istio keeps only some statistics by default; `cluster.outbound` ones need the pod annotation
`proxy.istio.io/config: {proxyStatsMatcher: {inclusionPrefixes: [cluster.outbound]}}` (Istio's fortio sample has it).
Istio's bootstrap also turns on Envoy's deferred stats creation (`deferred_stat_options:
{enable_deferred_creation_stats: true}` in istio/istio release-1.31 tools/packaging/common/envoy_bootstrap.json):
a cluster's traffic counters (upstream_rq_*, upstream_cx_*) do not exist until its first request, so an absent
counter is not yet a missing one (Proxy.cluster_counter).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Protocol

from labtools.errors import EnvironmentBroken
from labtools.probes.configdump import ClusterConfig, ConfigDump, RouteEntry, WorkloadCertificate
from labtools.probes.pods import SIDECAR
from labtools.probes.replies import ProbeError

if TYPE_CHECKING:
    from labtools.kube import ClusterAPI

ADMIN_PORT = 15000
STATS_MATCHER_HINT = (
    "Istio keeps cluster statistics only where its proxyStatsMatcher includes them: labtools up installs Istio with "
    "clusters/istio-kind.yaml, which does (meshConfig.defaultConfig.proxyStatsMatcher). On another install, add the "
    "annotation proxy.istio.io/config with proxyStatsMatcher.inclusionRegexps to the client pod."
)
MAX_ADMIN_BYTES = 64 * 1024 * 1024  # a config dump of a large mesh is a few MiB
_STAT_LINE = re.compile(r"^(?P<name>\S+?): (?P<value>.*)$")


class AdminTransport(Protocol):
    """Something that can GET a path ("stats", "config_dump?resource=...") from an Envoy admin interface."""

    where: str

    def get(self, path: str) -> str: ...


class HttpAdmin:
    """The admin interface at a URL (e.g. http://127.0.0.1:15000)."""

    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.where = f"Envoy admin at {self.base_url}"

    def get(self, path: str) -> str:
        import urllib3

        from labtools.probes.http import read_bounded

        url = f"{self.base_url}/{path.lstrip('/')}"
        try:
            response = urllib3.request("GET", url, timeout=self.timeout, retries=False, preload_content=False)
            data, cut = read_bounded(response, self.timeout, MAX_ADMIN_BYTES)
        except (urllib3.exceptions.HTTPError, OSError) as problem:
            raise ProbeError(f"{self.where} does not answer: {problem}") from None
        if cut:
            raise ProbeError(f"{self.where} answered {path} with more than {MAX_ADMIN_BYTES >> 20} MiB; not reading on.")
        text = data.decode("utf-8", "replace")
        if response.status != 200:
            raise ProbeError(f"{self.where} answered {response.status} to {path}: {text.strip()[:200]}")
        return text


class ExecAdmin:
    """The admin interface of a pod's sidecar, through `pilot-agent request GET <path>` run by exec."""

    def __init__(self, cluster: ClusterAPI, pod: str, namespace: str, container: str = SIDECAR, timeout: float = 30):
        self.cluster, self.pod, self.namespace = cluster, pod, namespace
        self.container, self.timeout = container, timeout
        self.where = f"the proxy of pod {namespace}/{pod}"

    def get(self, path: str) -> str:
        command = ["pilot-agent", "request", "GET", path.lstrip("/")]
        try:
            result = self.cluster.exec(self.pod, self.namespace, command, container=self.container,
                                       timeout=self.timeout)
        except EnvironmentBroken as problem:
            raise ProbeError(
                f"Cannot read {self.where}: {problem.message}",
                hint=problem.hint or f"Does the pod have an {self.container} sidecar? "
                                     f"kubectl get pod -n {self.namespace} {self.pod}",
            ) from None
        if result.exit_code != 0:
            said = (result.stderr or result.stdout).strip().splitlines()[-2:]
            raise ProbeError(
                f"`{' '.join(command)}` failed in {self.where} (exit code {result.exit_code}): "
                f"{' / '.join(said) or 'no output'}",
                hint=f"Does the pod have an {self.container} container? kubectl get pod -n {self.namespace} {self.pod}",
            )
        return result.stdout


class PortForwardAdmin:
    """The admin interface of a pod's sidecar through a port-forward to 15000 (opened for each read)."""

    def __init__(self, cluster: ClusterAPI, pod: str, namespace: str, port: int = ADMIN_PORT, timeout: float = 10.0):
        self.cluster, self.pod, self.namespace, self.port, self.timeout = cluster, pod, namespace, port, timeout
        self.where = f"the proxy of pod {namespace}/{pod} (port-forward to {port})"

    def get(self, path: str) -> str:
        with self.cluster.port_forward(self.pod, self.namespace, self.port) as local_port:
            return HttpAdmin(f"http://127.0.0.1:{local_port}", self.timeout).get(path)


class EnvoyStats:
    """Envoy's statistics as name -> value (ints for counters and gauges, text for the rest)."""

    def __init__(self, values: dict[str, Any]):
        self.values = values

    @classmethod
    def parse(cls, text: str) -> "EnvoyStats":
        """Envoy's text format. Histograms ("P0(...) P25(...)" or "No recorded values") stay text."""
        values: dict[str, Any] = {}
        for line in text.splitlines():
            match = _STAT_LINE.match(line.strip())
            if not match:
                continue
            raw = match.group("value").strip()
            if re.fullmatch(r"-?\d+", raw):
                values[match.group("name")] = int(raw)
            elif len(raw) >= 2 and raw[0] == raw[-1] == '"':  # text readouts
                values[match.group("name")] = raw[1:-1]
            else:
                values[match.group("name")] = raw
        return cls(values)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def __len__(self) -> int:
        return len(self.values)

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def counter(self, name: str) -> int:
        """A counter or gauge; 0 when Envoy has not created it (it creates most lazily or not at all)."""
        value = self.values.get(name, 0)
        return value if isinstance(value, int) else 0

    def cluster(self, name: str) -> dict[str, Any]:
        """The statistics of one cluster by its full name, stat -> value (Istio's `name;.` prefix or plain)."""
        found: dict[str, Any] = {}
        for prefix in (f"cluster.{name}.", f"cluster.{name};."):
            for key, value in self.values.items():
                if key.startswith(prefix):
                    found.setdefault(key[len(prefix):], value)
        return found

    def cluster_names(self) -> list[str]:
        """Names of the clusters with statistics written with Istio's ';' delimiter (unambiguous ones)."""
        return sorted({key[len("cluster."):key.index(";.")] for key in self.values
                       if key.startswith("cluster.") and ";." in key})

    def matching(self, pattern: str) -> dict[str, Any]:
        """Statistics whose name matches a regular expression (searched, not anchored)."""
        compiled = re.compile(pattern)
        return {key: value for key, value in self.values.items() if compiled.search(key)}

    def delta(self, earlier: "EnvoyStats") -> dict[str, int]:
        """How much each counter grew since `earlier` (only those that changed)."""
        changes = {}
        for key, value in self.values.items():
            if isinstance(value, int):
                before = earlier.values.get(key, 0)
                if isinstance(before, int) and value != before:
                    changes[key] = value - before
        return changes


class Proxy:
    """One Envoy: statistics, configuration and certificate, read fresh on every call."""

    def __init__(self, admin: AdminTransport):
        self.admin = admin

    @property
    def where(self) -> str:
        return self.admin.where

    def stats(self, filter: str | None = None) -> EnvoyStats:
        """All statistics, or those whose name matches `filter` (a regular expression, applied by Envoy)."""
        from urllib.parse import quote

        path = "stats" + (f"?filter={quote(filter, safe='')}" if filter else "")
        return EnvoyStats.parse(self.admin.get(path))

    def cluster_counter(self, cluster: str, stat: str) -> int:
        """A counter of one cluster by Istio's name (outbound|8000||httpbin.default.svc.cluster.local).

        An absent counter is 0 when the proxy has that cluster and its stats matcher keeps the counter: Envoy
        creates a cluster's traffic counters at its first request (deferred stats creation, as Istio runs it). It
        is a ProbeError (the environment, not the learner) when the proxy has no such cluster or never keeps that
        statistic, since then no traffic could ever make it count.
        """
        host = cluster.rsplit("|", 1)[-1]
        value = self.stats(filter=host.split(".", 1)[0]).cluster(cluster).get(stat)
        if isinstance(value, int):
            return value
        dump = self.config_dump()
        found = dump.cluster(cluster)
        if found is None:
            raise ProbeError(
                f"{self.where} has no cluster {cluster}, so its {stat} cannot be counted.",
                hint="istiod gives every proxy a cluster for each Service and port: is the service deployed, "
                     "with that port? `istioctl proxy-config cluster <pod>` lists the proxy's clusters.",
            )
        stat_name = f"cluster.{found.raw.get('alt_stat_name') or found.name}.{stat}"
        if not dump.keeps_stat(stat_name):
            raise ProbeError(f"{self.where} does not keep the statistic {stat} of cluster {cluster} (its stats matcher "
                             "leaves it out), so the check cannot count.", hint=STATS_MATCHER_HINT)
        return 0

    def ejected_hosts(self, cluster: str) -> list[str]:
        """Addresses of the cluster's hosts that outlier detection has ejected: the health flag
        failed_outlier_check in the admin interface's /clusters (one `cluster::address::health_flags::/flag/...`
        line per host). The flag does not depend on which statistics the proxy keeps."""
        ejected = []
        for line in self.admin.get("clusters").splitlines():
            name, _, rest = line.partition("::")
            address, _, field = rest.partition("::")
            if name == cluster and field.startswith("health_flags::") and "failed_outlier_check" in field.split("/"):
                ejected.append(address)
        return ejected

    def config_dump(self) -> ConfigDump:
        text = self.admin.get("config_dump")
        try:
            return ConfigDump(json.loads(text))
        except (ValueError, RecursionError) as problem:  # RecursionError: JSON nested thousands deep
            raise ProbeError(f"{self.where} returned a configuration dump that cannot be read: {problem}") from None

    def clusters(self) -> list[ClusterConfig]:
        return self.config_dump().clusters()

    def cluster(self, name: str) -> ClusterConfig | None:
        return self.config_dump().cluster(name)

    def routes(self, host: str | None = None) -> list[RouteEntry]:
        return self.config_dump().routes(host)

    def certificate(self, secret: str = "default") -> WorkloadCertificate:
        """The certificate the proxy presents (Istio's secret "default"), from the secrets in the dump."""
        try:
            found = self.config_dump().certificate(secret)
        except ValueError as problem:  # no PEM in the secret, or X.509 that cryptography cannot read
            raise ProbeError(
                f"{self.where} holds a certificate that cannot be read: {problem}",
                hint="istiod may still be issuing it; try again shortly, or look at it with "
                     "`istioctl proxy-config secret <pod> -n <namespace>`.",
            ) from None
        if found is None:
            raise ProbeError(
                f"{self.where} holds no certificate yet (no secret with a TLS certificate in its configuration).",
                hint="A sidecar gets its certificate from istiod a few seconds after it starts; try again shortly.",
            )
        return found

    def ready(self) -> bool:
        try:
            return self.admin.get("ready").strip() == "LIVE"
        except ProbeError:
            return False


def istio_cluster_name(host: str, port: int, subset: str = "", direction: str = "outbound") -> str:
    """Istio's cluster name: outbound|9080|v2|reviews.default.svc.cluster.local."""
    return f"{direction}|{port}|{subset}|{host}"
