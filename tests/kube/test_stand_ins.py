"""The tests' stand-ins for labtools.kube.Cluster keep its signatures: a method they share has the same parameters,
in the same order, with the same defaults (so a change to Cluster that the stand-ins miss fails here, not in a lab)."""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

import pytest

from labtools.kube import Cluster, ClusterAPI

TESTS = Path(__file__).resolve().parents[1]
STAND_INS = [
    ("tests.probes.standins", "FakeCluster"),
    ("tests.labs.live.mesh", "MeshCluster"),
    ("tests.notebooks.test_helpers", "FakeCluster"),
    ("test_provision_components", "StubCluster"),  # tests/provision is not a package
]
PROTOCOL_MEMBERS = [name for name in vars(ClusterAPI) if not name.startswith("_")]


def stand_in(module: str, name: str) -> type:
    if "." not in module:
        sys.path.insert(0, str(TESTS / "provision"))
    return getattr(importlib.import_module(module), name)


def parameters(function) -> list[tuple[str, object]]:
    return [(p.name, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize(("module", "name"), STAND_INS)
def test_a_stand_ins_methods_have_the_real_clusters_parameters(module, name):
    fake = stand_in(module, name)
    shared = [m for m in dir(fake) if not m.startswith("_") and callable(getattr(Cluster, m, None))
              and callable(getattr(fake, m))]
    assert shared, f"{name} shares no method with Cluster"
    for method in shared:
        assert parameters(getattr(fake, method)) == parameters(getattr(Cluster, method)), f"{name}.{method}"


def test_the_full_stand_in_declares_the_protocol_and_implements_all_of_it():
    fake = stand_in("tests.probes.standins", "FakeCluster")
    assert ClusterAPI in fake.__mro__
    for member in PROTOCOL_MEMBERS:
        assert getattr(fake, member) is not getattr(ClusterAPI, member), f"FakeCluster leaves {member} to the protocol"


def test_the_real_cluster_has_the_protocols_signatures():
    for member in PROTOCOL_MEMBERS:
        assert parameters(getattr(Cluster, member)) == parameters(getattr(ClusterAPI, member)), member
