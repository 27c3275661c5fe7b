"""Helpers for the instructor tests: a cluster's starting objects and the test release."""

from __future__ import annotations

from pathlib import Path

import yaml

from provision_helpers import run_cli, unpack_release  # noqa: F401  (run_cli: re-exported for the instructor tests)

ROOT = Path(__file__).resolve().parents[2]
COMMON = ROOT / "labs" / "common"
# kinds the kube tests' API server does not declare by default, but labtools reads
EXTRA_KINDS = {
    "ServiceEntry": ("networking.istio.io/v1", "serviceentries", True),
    # the workshop's tenant objects and admission policies
    "Sidecar": ("networking.istio.io/v1", "sidecars", True),
    "ResourceQuota": ("v1", "resourcequotas", True),
    "LimitRange": ("v1", "limitranges", True),
    "ValidatingAdmissionPolicy": ("admissionregistration.k8s.io/v1", "validatingadmissionpolicies", False),
    "ValidatingAdmissionPolicyBinding": ("admissionregistration.k8s.io/v1", "validatingadmissionpolicybindings", False),
    "Node": ("v1", "nodes", False),
    # Gateway API kinds a lab's solution may hold (its Gateway shares the kind name with Istio's, so it is left out)
    "HTTPRoute": ("gateway.networking.k8s.io/v1", "httproutes", True),
    "ReferenceGrant": ("gateway.networking.k8s.io/v1", "referencegrants", True),
}
LEARNER_COMPONENTS = ("bookinfo", "bookinfo-versions", "httpbin", "curl", "fortio")


def cache_release(files: dict[str, str] | None = None):
    """Unpack the provision tests' small Istio release (or `files`) into the cache, marked verified."""
    from labtools.provision import release

    unpack_release(files)
    found = release.cached()
    assert found is not None
    return found


def stand_ins(name: str, namespace: str) -> list[dict]:
    """labs/common/<name>.yaml (what offline grading assumes the cluster runs), placed in `namespace`."""
    from labtools.classroom.labstate import localize
    from labtools.files.manifests import load_manifests

    return [localize(r.data, namespace) for r in load_manifests([COMMON / f"{name}.yaml"], default_namespace=namespace)]


def install_mesh(cluster) -> None:
    """istio-system as the demo profile leaves it (istiod and the gateways), from the offline stand-ins."""
    cluster.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}] + stand_ins("istio", "istio-system"))


def add_learner(cluster, namespace: str, components=LEARNER_COMPONENTS) -> None:
    """A learner namespace with sidecar injection and the stand-ins of the components the labs run there."""
    objects = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": {"istio-injection": "enabled"}}}]
    for name in components:
        objects += stand_ins(name, namespace)
    cluster.apply(objects)


def solution_objects(lab_id: str, namespace: str) -> list[dict]:
    """A lab's reference solution as `labtools solve` would apply it in `namespace` (file-only files left out)."""
    from labtools.classroom.labstate import localize, read_objects
    from labtools.grading.catalog import solution_files

    resources, _ = read_objects(solution_files(lab_id), namespace, skip_file_only=True)
    return [localize(r.data, namespace) for r in resources]


def objects(api, kind: str, namespace: str | None = None) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in api.objects(kind, namespace)}


def writes(requests: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Requests that change something (a dry run changes nothing)."""
    return [(m, p) for m, p in requests if m in ("POST", "PUT", "PATCH", "DELETE") and "dryRun=All" not in p]


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


DEMO_CHECKS = '''
from labtools.grading import Lab, fail
from labtools.grading.expect import require

lab = Lab("{id}", "{title}", uses=("istio", "bookinfo"))


@lab.check(points=2)
def routes_for_the_learners_host(config, target):
    """VirtualService {vs} serves the learner's host through {gateway}"""
    vs = require(config, "VirtualService", "{vs}", target.namespace)
    if target.host not in vs.spec.get("hosts", []):
        fail(f"hosts are {{vs.spec.get('hosts')}}, not {{target.host}}")
    if config.get("Gateway", "{gateway}", target.namespace) is None:
        fail("no Gateway {gateway} in " + target.namespace)
'''
GATEWAY = '''apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: {name}
spec:
  selector:
    istio: ingressgateway
  servers:
  - port: {{number: 8080, name: http, protocol: HTTP}}
    hosts: [bookinfo.app]
'''
VIRTUAL_SERVICE = '''apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: {name}
spec:
  hosts: [bookinfo.app]
  gateways: [{gateway}]
  http:
  - route:
    - destination: {{host: productpage.default.svc.cluster.local, port: {{number: 9080}}}}
'''
FILE_ONLY = '''# labtools: file-only
# Graded offline only.
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: outside
spec:
  host: api.example.com
'''


def demo_course(root: Path, monkeypatch) -> tuple[Path, Path]:
    """Two small labs of our own (98 and its later lab 99), with setup and solutions, so results do not hinge on
    the course's live checks: labs/ and solutions/ under `root`."""
    from labtools import settings

    labs, solutions = root / "labs", root / "solutions"
    for lab_id, title, vs, gateway in (("98-demo", "Demo", "demo", "demo-gateway"), ("99-later", "Later", "later", "demo-gateway")):
        (labs / lab_id / "setup").mkdir(parents=True)
        (labs / lab_id / "checks.py").write_text(DEMO_CHECKS.format(id=lab_id, title=title, vs=vs, gateway=gateway))
        (labs / lab_id / "setup" / "gateway.yaml").write_text(GATEWAY.format(name=gateway))
        (solutions / lab_id).mkdir(parents=True)
        (solutions / lab_id / "vs.yaml").write_text(VIRTUAL_SERVICE.format(name=vs, gateway=gateway))
    (solutions / "98-demo" / "outside.yaml").write_text(FILE_ONLY)
    (labs / "common").mkdir()
    monkeypatch.setenv("LABTOOLS_LABS", str(labs))
    monkeypatch.setattr(settings, "solutions_dir", lambda: solutions)
    return labs, solutions
