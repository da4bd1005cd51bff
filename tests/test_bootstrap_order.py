"""A fresh cluster converges with the documented steps (docs/gitops.md), in every environment.

The model of Argo CD v3.5.1 is tests/argocd_sync.py (sync phases and waves, Application health,
what the API server refuses). Automated environments: step 5 applies only the root and its project
(`kubectl apply -l`), the root creates the Applications wave by wave and each syncs by itself.
Production: the person runs the commands of docs/gitops.md's production block, parsed from the page.
Both must end with every Application Healthy, every object created on its first try (its namespace,
CRD and AppProject from an earlier wave), and every workload's Secrets, ConfigMaps, IngressClass and
metrics API in place before it (else it stays Progressing and the root never starts the next wave).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import replace
from typing import Any

import pytest
import yaml

from charts.addons import addons_for
from charts.gitops import BOOTSTRAP_LABELS, GITOPS_FILE, RETRY
from envspec.naming import ARGOCD_ROOT_APPLICATION, LOAD_BALANCER_CONTROLLER_RELEASE
from tests.argocd_sync import (
    ADDON_PROVIDES,
    SERVICE_WEBHOOK,
    SYNC_WAVE,
    Cluster,
    addon_objects,
    health_of,
    products,
    registers_service_webhook,
    sync_application,
)
from tests.conftest import ENVIRONMENTS, ROOT, SPECS, Synthesis

GITOPS_DOC = ROOT / "docs" / "gitops.md"


class Bootstrap:
    """The root Application's sync on an empty cluster, and its children's."""

    def __init__(self, synthesis: Synthesis, env: str):
        folder = synthesis.kubernetes_dir / env
        self.root_docs = [doc for doc in yaml.safe_load_all((folder / GITOPS_FILE).read_text()) if doc]
        self.addons = {addon.release: addon for addon in addons_for(SPECS[env])}
        self.files = {path.name: [d for d in yaml.safe_load_all(path.read_text()) if d] for path in folder.glob("*.k8s.yaml")}
        self.cluster = Cluster()
        self.created: list[str] = []  # Applications the root has created
        self.synced: set[str] = set()
        self.problems: dict[str, list[str]] = {}
        self.waves = sorted({int((d["metadata"].get("annotations") or {}).get(SYNC_WAVE, "0")) for d in self.root_docs})
        self.next_wave = 0
        self.root_retries = 0  # the root's operation failed on a Degraded child and was retried

    def kubectl_apply_bootstrap(self) -> None:
        """Step 5: `kubectl apply -l ai-subsidy.io/bootstrap=true`: the root and its AppProject only."""
        chosen = [d for d in self.root_docs if BOOTSTRAP_LABELS.items() <= (d["metadata"].get("labels") or {}).items()]
        assert {d["kind"] for d in chosen} == {"AppProject", "Application"}, chosen
        for doc in chosen:
            self.cluster.present.update(products(doc))

    def _application(self, name: str) -> dict[str, Any]:
        return next(d for d in self.root_docs if d["kind"] == "Application" and d["metadata"]["name"] == name)

    def _objects(self, name: str) -> list[dict[str, Any]]:
        source = self._application(name)["spec"]["source"]
        if "chart" in source:
            return addon_objects(self.addons[name], self._application(name))
        return self.files[source["directory"]["include"]]

    def sync(self, names: list[str]) -> None:
        """Sync Applications side by side: each sees the cluster as it was before any of them."""
        before = set(self.cluster.present)
        # A release's webhook configurations are live within seconds, its pods a minute later.
        for name in names:
            if name in self.addons and registers_service_webhook(self.addons[name]):
                self.cluster.webhooks.add(SERVICE_WEBHOOK)
        results = {}
        for name in names:
            assert name in self.created, f"{name} does not exist yet: the root has not created it"
            snapshot = Cluster(present=set(before), namespace_labels=self.cluster.namespace_labels, webhooks=set(self.cluster.webhooks))
            results[name] = sync_application(name, self._objects(name), snapshot, ADDON_PROVIDES.get(name, set()))
        for name, (made, problems) in results.items():
            self.cluster.present |= made
            self.cluster.health[name] = health_of(problems, made)
            self.problems[name] = problems
            self.synced.add(name)

    def advance_root(self, automated: bool) -> None:
        """The root applies its next wave once every Application of the previous one is Healthy."""
        while self.retry_degraded() and self.next_wave < len(self.waves):
            previous = [n for n in self.created if self._wave(n) < self.waves[self.next_wave]]
            if any(self.cluster.health.get(n, "Missing") != "Healthy" for n in previous):
                return
            wave = self.waves[self.next_wave]
            docs = [d for d in self.root_docs if self._wave_of_doc(d) == wave and d["metadata"]["name"] != ARGOCD_ROOT_APPLICATION]
            new = []
            for doc in docs:
                if doc["kind"] == "Application":
                    assert ("AppProject", "", doc["spec"]["project"]) in self.cluster.present, f"{doc['metadata']['name']}: no project yet"
                    new.append(doc["metadata"]["name"])
                self.cluster.present.update(products(doc))
            self.created += new
            self.next_wave += 1
            if automated and new:
                self.sync(new)

    def retry_degraded(self) -> bool:
        """A Degraded child fails the root's operation (the last wave's too); the root's retry policy
        starts it again after a backoff, when the child's live state is read afresh."""
        while degraded := [n for n in self.created if self.cluster.health.get(n) == "Degraded"]:
            self.root_retries += 1
            assert self.root_retries <= RETRY.limit, f"the root gives up: {degraded} stay Degraded: {self.problems}"
            self.sync(degraded)
        return True

    def _wave_of_doc(self, doc: dict[str, Any]) -> int:
        return int((doc["metadata"].get("annotations") or {}).get(SYNC_WAVE, "0"))

    def _wave(self, name: str) -> int:
        return self._wave_of_doc(self._application(name))

    def assert_converged(self) -> None:
        applications = [d["metadata"]["name"] for d in self.root_docs if d["kind"] == "Application"]
        expected = sorted(set(applications) - {ARGOCD_ROOT_APPLICATION})
        assert sorted(self.created) == expected, f"the root never created {sorted(set(expected) - set(self.created))}"
        failures = {name: problems for name, problems in self.problems.items() if problems}
        assert not failures, f"objects created before their prerequisites: {failures}"
        unhealthy = {n: self.cluster.health.get(n, "never synced") for n in expected if self.cluster.health.get(n) != "Healthy"}
        assert not unhealthy, unhealthy


def production_commands() -> list[list[str]]:
    """The commands of the production block of docs/gitops.md (between its markers), one per line."""
    text = GITOPS_DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- production-sync -->\s*```sh\n(.*?)```", text, re.S)
    assert block, "docs/gitops.md has no production sync block"
    lines = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    return [shlex.split(line) for line in lines if line]


# Argo CD docs, "Resource Health" (Argocd App): the Application health check that app of apps with sync
# waves needs lives in argocd-cm under this key (`resource.customizations.health.<group>_<kind>`).
APPLICATION_HEALTH_KEY = "resource.customizations.health.argoproj.io_Application"


def jsonpath_of(key: str) -> str:
    """kubectl's JSONPath for a ConfigMap data key with dots (each escaped with a backslash)."""
    return "{.data." + key.replace(".", "\\.") + "}"


def patched_argocd_cm_keys() -> set[str]:
    """The data keys step 4's `kubectl patch configmap argocd-cm` sets."""
    text = GITOPS_DOC.read_text(encoding="utf-8")
    patch = re.search(r"patch configmap argocd-cm --type merge -p '\{\"data\":\{(.*?)\n", text)
    assert patch, "docs/gitops.md step 4 does not patch argocd-cm"
    return set(re.findall(r'"([^"]+)":', patch.group(1)))


@pytest.mark.parametrize("env", [env for env in ENVIRONMENTS if SPECS[env].gitops.automated_sync])
def test_a_fresh_cluster_converges_with_automated_sync(env: str, synthesis: Synthesis) -> None:
    bootstrap = Bootstrap(synthesis, env)
    bootstrap.kubectl_apply_bootstrap()
    bootstrap.advance_root(automated=True)
    bootstrap.assert_converged()


@pytest.mark.parametrize("env", [env for env in ENVIRONMENTS if not SPECS[env].gitops.automated_sync])
def test_a_fresh_cluster_converges_with_the_documented_manual_sync(env: str, synthesis: Synthesis) -> None:
    """`argocd app sync gitops --async` starts the root; `kubectl wait --for=create` waits for it to
    create a wave's Applications; `argocd app sync` syncs them; `argocd app wait --health` holds
    until they are Healthy (else that command times out)."""
    bootstrap = Bootstrap(synthesis, env)
    bootstrap.kubectl_apply_bootstrap()
    root_started = health_check_verified = False
    for command in production_commands():
        if command[:5] == ["kubectl", "-n", "argocd", "get", "configmap"]:
            assert command[5:7] == ["argocd-cm", "-o"] and command[7:] == [f"jsonpath={jsonpath_of(APPLICATION_HEALTH_KEY)}"], command
            assert APPLICATION_HEALTH_KEY in patched_argocd_cm_keys(), "step 4 does not patch the key this command reads"
            health_check_verified = True
        elif command[:3] == ["argocd", "app", "sync"] and command[3:] == [ARGOCD_ROOT_APPLICATION, "--async"]:
            assert health_check_verified, "without the Application health check the root does not wait for its waves: verify it first"
            root_started = True
        elif command[:4] == ["kubectl", "-n", "argocd", "wait"]:
            names = [arg.removeprefix("application/") for arg in command if arg.startswith("application/")]
            missing = [name for name in names if name not in bootstrap.created]
            assert not missing, f"`{shlex.join(command)}` times out: the root has not created {missing}"
        elif command[:3] == ["argocd", "app", "sync"]:
            assert root_started, "the root must be syncing before its children exist"
            bootstrap.sync([arg for arg in command[3:] if not arg.startswith("-")])
        elif command[:3] == ["argocd", "app", "wait"]:
            names = [arg for arg in command[3:] if not arg.startswith("-") and not arg.isdigit()]
            assert "--health" in command
            unhealthy = {
                n: bootstrap.problems.get(n) or bootstrap.cluster.health.get(n)
                for n in names
                if bootstrap.cluster.health.get(n) != "Healthy"
            }
            assert not unhealthy, f"`{shlex.join(command)}` times out: {unhealthy}"
        else:
            pytest.fail(f"docs/gitops.md: the model does not know `{shlex.join(command)}`")
        if root_started:
            bootstrap.advance_root(automated=False)
    bootstrap.assert_converged()


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_grafana_login_exists_before_kube_prometheus_stack(env: str, synthesis: Synthesis) -> None:
    """The defect this order fixes: Grafana (kube-prometheus-stack) needs Secret `grafana-admin`."""
    bootstrap = Bootstrap(synthesis, env)
    bootstrap.kubectl_apply_bootstrap()
    bootstrap.advance_root(automated=True)
    assert bootstrap.cluster.health.get("kube-prometheus-stack") == "Healthy", bootstrap.problems.get("kube-prometheus-stack")


def _converge(bootstrap: Bootstrap) -> None:
    bootstrap.kubectl_apply_bootstrap()
    bootstrap.advance_root(automated=True)


def test_the_service_webhook_would_block_the_first_wave(synthesis: Synthesis) -> None:
    """aws/eks-charts stable/aws-load-balancer-controller 3.4.2 values.yaml `enableServiceMutatorWebhook: true`,
    `serviceMutatorWebhookConfig.failurePolicy: Fail`; templates/webhook.yaml `mservice.elbv2.k8s.aws` for every
    Service CREATE (kubernetes-sigs/aws-load-balancer-controller#4140): with the chart's default, the
    add-ons synced beside the controller cannot create their Services. The project's values turn it off."""
    bootstrap = Bootstrap(synthesis, "staging")
    addon = bootstrap.addons[LOAD_BALANCER_CONTROLLER_RELEASE]
    assert addon.values["enableServiceMutatorWebhook"] is False
    bootstrap.addons[addon.release] = replace(addon, values={**addon.values, "enableServiceMutatorWebhook": True})
    _converge(bootstrap)
    refused = [p for problems in bootstrap.problems.values() for p in problems if p.startswith("Service/") and "refused" in p]
    assert refused, bootstrap.problems


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_service_needs_the_service_webhook(env: str, synthesis: Synthesis) -> None:
    """The webhook only makes the controller the default for Services of type LoadBalancer
    (values.yaml 3.4.2 comment on `enableServiceMutatorWebhook`): none is rendered, so it is not needed."""
    services = [doc for path in (synthesis.kubernetes_dir / env).glob("*.k8s.yaml") for doc in yaml.safe_load_all(path.read_text()) if doc]
    balancers = [d["metadata"]["name"] for d in services if d["kind"] == "Service" and d["spec"].get("type") == "LoadBalancer"]
    assert not balancers


def test_a_new_hpa_reads_degraded_once_and_the_root_retries(synthesis: Synthesis) -> None:
    """gitops-engine pkg/health/health_hpa.go (Argo CD v3.5.1): ScalingActive False, FailedGetResourceMetric
    is Degraded; metrics-server has no sample of pods it has not scraped yet. The root's retry
    (charts/gitops.py RETRY; server/application/application.go v3.5.1 takes `spec.syncPolicy.retry` for a
    manual sync too) reads the workloads again once their pods have run, and they are Healthy."""
    bootstrap = Bootstrap(synthesis, "staging")
    first: dict[str, list[str]] = {}
    sync = bootstrap.sync

    def recording(names: list[str]) -> None:
        sync(names)
        for name in names:
            first.setdefault(name, bootstrap.problems[name])

    bootstrap.sync = recording  # type: ignore[method-assign]
    _converge(bootstrap)
    assert any("FailedGetResourceMetric" in p for p in first["ai-subsidy-workloads"]), first["ai-subsidy-workloads"]
    assert 1 <= bootstrap.root_retries < RETRY.limit
    bootstrap.assert_converged()
