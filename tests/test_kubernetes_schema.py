"""Every manifest validates strictly for the environment's cluster version; custom objects against
their CRD's openAPIV3Schema (tools/kube_validate.py)."""

from __future__ import annotations

import pytest

from tests.conftest import ENVIRONMENTS, SPECS, STANDBY_FOLDERS, Synthesis
from tools.kube_validate import validate_object


@pytest.mark.parametrize("env", ENVIRONMENTS + STANDBY_FOLDERS)
def test_manifests_validate_for_the_cluster_version(env: str, synthesis: Synthesis) -> None:
    manifests = synthesis.manifests(env)
    assert manifests, f"no manifests synthesized for {env}"
    version = SPECS[env.removesuffix("-dr")].cluster.version  # a standby runs the primary's version
    problems = [f"{doc['kind']}/{doc['metadata']['name']}: {problem}" for doc in manifests for problem in validate_object(doc, version)]
    assert not problems, "\n".join(problems)


# The validator's own checks run at the version production runs (every environment's, today), not a literal.
VERSION = SPECS["production"].cluster.version


def test_the_validator_rejects_what_the_api_server_would() -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}
    assert validate_object(namespace, VERSION) == []
    assert validate_object({**namespace, "metadata": {"name": "x", "lables": {}}}, VERSION)
    assert validate_object({"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy", "metadata": {"name": "x"}}, VERSION)
    external_secret = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "x", "namespace": "y"},
        "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "aws"}, "refreshInterval": "1h", "target": {"name": "x"}},
    }
    assert validate_object(external_secret, VERSION) == []
    typo = {**external_secret, "spec": {**external_secret["spec"], "refreshIntervall": "1h"}}
    assert any("refreshIntervall" in problem for problem in validate_object(typo, VERSION))
