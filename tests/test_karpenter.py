"""Karpenter: both layers agree, the objects pass their CRDs' schema and CEL rules, the budgets mean
what the spec says in Tokyo time, and the controller can do what v1.14.1 does and no more.

Upstream sources (aws/karpenter-provider-aws, tag v1.14.1):
- `pkg/apis/crds/*.yaml` (our crds/): openAPIV3Schema and `x-kubernetes-validations`;
- `website/content/en/docs/getting-started/getting-started-with-karpenter/cloudformation.yaml`: the
  controller policy, the queue and its policy, the five EventBridge rules;
- `website/content/en/docs/concepts/disruption.md`: budgets' `schedule` is cron in UTC, `schedule`
  and `duration` go together, budgets do not hold back expiration;
- `charts/karpenter/values.yaml`, `templates/service.yaml`: the Helm keys and the metrics port.

CEL: cel-python evaluates every rule of the NodePool and EC2NodeClass CRDs, with the two
Kubernetes library functions they use (`find` from the regex library, `split` from the strings
library) supplied here with Kubernetes' semantics. It cannot evaluate transition rules (those reading
`oldSelf`): the API server runs them only on update, so a create is not affected; they are listed
and skipped. Rules on fields our objects do not set are not run, as on the API server.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import celpy
import pytest
from celpy import celtypes

from charts.addons import KARPENTER_CHART, karpenter
from charts.node_pools import business_hours_schedule
from envspec import SpecError, load_file
from envspec.capacity import allocatable, allowed_instance_types, packings, peak_pods
from envspec.models import BusinessHours
from envspec.naming import KARPENTER_DISCOVERY_TAG, names_for
from tests.conftest import ENVIRONMENTS, ROOT, SPECS, Synthesis, data_of, only, ref, resources_of
from tools.kube_validate import load_crd, validate_object

CRDS = ROOT / "crds"
CRD_FILES = {"NodePool": "karpenter.sh_nodepools.yaml", "EC2NodeClass": "karpenter.k8s.aws_ec2nodeclasses.yaml"}
LAST_APPLIED_LIMIT = 262_144  # bytes of the kubectl.kubernetes.io/last-applied-configuration annotation


# --- CEL ---
def _find(value: Any, pattern: Any) -> celtypes.StringType:
    match = re.search(str(pattern), str(value))
    return celtypes.StringType(match.group(0) if match else "")


def _split(value: Any, separator: Any) -> celtypes.ListType:
    return celtypes.ListType([celtypes.StringType(part) for part in str(value).split(str(separator))])


KUBERNETES_FUNCTIONS = {"find": _find, "split": _split}


def _values_at(document: Any, schema: dict[str, Any], path: str = "") -> list[tuple[str, Any, dict[str, Any]]]:
    """(path, value, schema node) for every value present in the document, walking the schema."""
    found = [(path, document, schema)]
    if isinstance(document, dict):
        for key, child in document.items():
            if key in schema.get("properties", {}):
                found += _values_at(child, schema["properties"][key], f"{path}.{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                found += _values_at(child, schema["additionalProperties"], f"{path}.{key}")
    elif isinstance(document, list) and "items" in schema:
        for index, item in enumerate(document):
            found += _values_at(item, schema["items"], f"{path}[{index}]")
    return found


def cel_results(document: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """(passed, failed, skipped transition rules) of every CEL rule that applies to the document."""
    crd = load_crd(CRDS / CRD_FILES[document["kind"]])
    version = document["apiVersion"].split("/")[1]
    schema = next(v for v in crd["spec"]["versions"] if v["name"] == version)["schema"]["openAPIV3Schema"]
    environment = celpy.Environment()
    passed, failed, skipped = [], [], []
    for path, value, node in _values_at(document, schema):
        for validation in node.get("x-kubernetes-validations", []):
            rule = validation["rule"]
            label = f"{path}: {rule}"
            if "oldSelf" in rule:
                skipped.append(label)
                continue
            program = environment.program(environment.compile(rule), functions=KUBERNETES_FUNCTIONS)
            result = program.evaluate({"self": celpy.json_to_cel(value)})
            assert isinstance(result, celtypes.BoolType), f"{label} did not evaluate: {result!r}"
            (passed if result else failed).append(label)
    return passed, failed, skipped


def _karpenter_objects(synthesis: Synthesis, env: str) -> dict[str, dict[str, Any]]:
    return {kind: only({doc["metadata"]["name"]: doc for doc in synthesis.find(env, kind)}) for kind in CRD_FILES}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_node_pool_and_node_class_pass_schema_and_cel(env: str, synthesis: Synthesis) -> None:
    for kind, document in _karpenter_objects(synthesis, env).items():
        assert validate_object(document, SPECS[env].cluster.version) == [], kind
        passed, failed, skipped = cel_results(document)
        assert not failed, f"{kind}: CEL rules the API server would refuse it by:\n" + "\n".join(failed)
        assert len(passed) >= 10, f"{kind}: only {len(passed)} rules ran"
        assert all("oldSelf" in rule for rule in skipped)


def test_cel_rejects_what_the_api_server_would(synthesis: Synthesis) -> None:
    objects = _karpenter_objects(synthesis, "production")
    pool = copy.deepcopy(objects["NodePool"])
    pool["spec"]["template"]["spec"]["requirements"].append({"key": "kubernetes.io/hostname", "operator": "In", "values": ["x"]})
    pool["spec"]["disruption"]["budgets"].append({"nodes": "0", "schedule": "0 0 * * *"})
    failed = cel_results(pool)[1]
    assert any("kubernetes.io/hostname" in rule for rule in failed)
    assert any("has(x.schedule) == has(x.duration)" in rule for rule in failed)
    node_class = copy.deepcopy(objects["EC2NodeClass"])
    node_class["spec"]["instanceProfile"] = "x"
    node_class["spec"]["amiSelectorTerms"] = [{"alias": "windows2022@v1"}]
    failed = cel_results(node_class)[1]
    assert any("has(self.instanceProfile)" in rule for rule in failed)
    assert any("self.split('@')[1] == 'latest'" in rule for rule in failed)


# --- disruption budgets ---
def _cron_matches(schedule: str, minute: int, hour: int, weekday: int) -> bool:
    """The five-field form the budgets use: fixed minute and hour, `*` day and month, `*` or a-b weekdays (0 = Sunday)."""
    fields = schedule.split()
    days = fields[4]
    in_days = days == "*" or int(days.split("-")[0]) <= weekday <= int(days.split("-")[1])
    return int(fields[0]) == minute and int(fields[1]) == hour and fields[2] == fields[3] == "*" and in_days


def _active_hours(schedule: str, duration: str) -> set[tuple[int, int]]:
    """(UTC weekday, UTC hour) of every hour of a week the budget is in force."""
    length = int(duration.removesuffix("h"))
    active = set()
    for start in range(7 * 24):
        if _cron_matches(schedule, 0, start % 24, start // 24):
            active |= {((start + offset) // 24 % 7, (start + offset) % 24) for offset in range(length)}
    return active


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        (BusinessHours(), ("0 0 * * 1-5", "9h")),
        (BusinessHours(start_hour=8, end_hour=20), ("0 23 * * 0-4", "12h")),
        (BusinessHours(weekdays_only=False), ("0 0 * * *", "9h")),
    ],
)
def test_business_day_budget_is_the_local_business_day_in_utc(hours: BusinessHours, expected: tuple[str, str]) -> None:
    """Karpenter reads `schedule` in UTC (disruption.md, "Schedule"); Tokyo is UTC+9 without DST."""
    schedule, duration = business_hours_schedule(hours)
    assert (schedule, duration) == expected
    local_business = {
        ((day * 24 + hour - hours.timezone_offset_hours) // 24 % 7, (hour - hours.timezone_offset_hours) % 24)
        for day in range(7)
        if not hours.weekdays_only or 1 <= day <= 5
        for hour in range(hours.start_hour, hours.end_hour)
    }
    assert _active_hours(schedule, duration) == local_business


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_disruption_never_outpaces_the_pod_disruption_budgets(env: str, synthesis: Synthesis) -> None:
    """One node at a time (each drain goes through the Eviction API, so the PDBs' maxUnavailable 1 holds);
    in production no voluntary disruption of non-empty nodes in the business day."""
    pool = _karpenter_objects(synthesis, env)["NodePool"]
    budgets = pool["spec"]["disruption"]["budgets"]
    always = [budget for budget in budgets if "schedule" not in budget]
    assert always == [{"nodes": "1"}]
    pdbs = synthesis.find(env, "PodDisruptionBudget")
    assert pdbs and all(pdb["spec"].get("maxUnavailable") == 1 for pdb in pdbs)
    windows = [budget for budget in budgets if "schedule" in budget]
    if SPECS[env].is_production:
        assert windows == [{"nodes": "0", "reasons": ["Underutilized", "Drifted"], "schedule": "0 0 * * 1-5", "duration": "9h"}]
        assert "Empty" not in windows[0]["reasons"]
    else:
        assert windows == []


# --- the NodePool and EC2NodeClass from the spec ---
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_node_pool_follows_the_spec(env: str, synthesis: Synthesis) -> None:
    spec, objects = SPECS[env], _karpenter_objects(synthesis, env)
    pool, node_class = objects["NodePool"], objects["EC2NodeClass"]
    requirements = {item["key"]: item["values"] for item in pool["spec"]["template"]["spec"]["requirements"]}
    assert requirements["karpenter.sh/capacity-type"] == (["on-demand"] if spec.is_production else ["spot", "on-demand"])
    assert requirements["kubernetes.io/arch"] == ["amd64"]
    assert pool["spec"]["limits"] == {"cpu": str(spec.node_autoscaling.cpu_limit), "memory": f"{spec.node_autoscaling.memory_limit_gib}Gi"}
    assert pool["spec"]["template"]["spec"]["expireAfter"] == spec.node_autoscaling.expire_after
    (alias,) = node_class["spec"]["amiSelectorTerms"]
    assert re.fullmatch(r"al2023@v\d{8}", alias["alias"]), "AMI pinned by version, never @latest"
    assert node_class["spec"]["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpProtocolIPv6": "disabled",
        "httpPutResponseHopLimit": 1,
        "httpTokens": "required",
    }
    (device,) = node_class["spec"]["blockDeviceMappings"]
    assert device["rootVolume"] is True and device["deviceName"] == "/dev/xvda"
    assert device["ebs"]["volumeType"] == "gp3" and device["ebs"]["encrypted"] is True


def test_production_refuses_a_floating_image(tmp_path: Path) -> None:
    source = (ROOT / "environments" / "production.yaml").read_text(encoding="utf-8")
    path = tmp_path / "production.yaml"
    path.write_text(source + "node_autoscaling:\n  image_alias: al2023@latest\n", encoding="utf-8")
    with pytest.raises(SpecError, match="never @latest"):
        load_file(path)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_both_layers_agree_on_names(env: str, synthesis: Synthesis) -> None:
    names, objects = names_for(SPECS[env]), _karpenter_objects(synthesis, env)
    cluster = synthesis.stack(f"{env}-cluster")
    network = synthesis.stack(f"{env}-network")
    node_class = objects["EC2NodeClass"]["spec"]
    discovery = {KARPENTER_DISCOVERY_TAG: names.cluster_name}
    assert node_class["subnetSelectorTerms"] == [{"tags": discovery}]
    assert node_class["securityGroupSelectorTerms"] == [{"tags": discovery}]
    private = [subnet for subnet in resources_of(network, "aws_subnet").values() if subnet["tags"]["Tier"] == "private"]
    assert private and all(subnet["tags"][KARPENTER_DISCOVERY_TAG] == names.cluster_name for subnet in private)
    others = [subnet for subnet in resources_of(network, "aws_subnet").values() if subnet["tags"]["Tier"] != "private"]
    assert all(KARPENTER_DISCOVERY_TAG not in subnet["tags"] for subnet in others), "nodes only in private subnets"
    tag = only(resources_of(cluster, "aws_ec2_tag"))
    assert (tag["key"], tag["value"]) == (KARPENTER_DISCOVERY_TAG, names.cluster_name)
    assert "cluster_security_group_id" in tag["resource_id"]
    roles = {role["name"]: role for role in resources_of(cluster, "aws_iam_role").values()}
    assert node_class["role"] in roles
    aliases = {alias["name"]: alias for alias in resources_of(cluster, "aws_kms_alias").values()}
    kms_alias = node_class["blockDeviceMappings"][0]["ebs"]["kmsKeyID"]
    assert kms_alias == f"arn:aws:kms:{names.region}:{names.account}:{names.kms_alias('cluster')}" and names.kms_alias("cluster") in aliases
    entries = [entry for entry in resources_of(cluster, "aws_eks_access_entry").values() if entry["type"] == "EC2_LINUX"]
    (entry,) = entries
    assert ref(entry["principal_arn"]) == ref(f"${{aws_iam_role.{_logical_id(cluster, 'aws_iam_role', node_class['role'])}.arn}}")
    values = karpenter(SPECS[env]).values
    assert values["settings"] == {"clusterName": names.cluster_name, "interruptionQueue": names.karpenter_interruption_queue}
    queue = only(resources_of(cluster, "aws_sqs_queue"))
    assert queue["name"] == names.karpenter_interruption_queue
    association = next(a for a in resources_of(cluster, "aws_eks_pod_identity_association").values() if a["service_account"] == "karpenter")
    assert (association["namespace"], association["service_account"]) == ("kube-system", values["serviceAccount"]["name"])


def _logical_id(stack: dict[str, Any], resource_type: str, name: str) -> str:
    return next(key for key, body in resources_of(stack, resource_type).items() if body.get("name") == name)


# --- AWS side ---
def _controller_policy(synthesis: Synthesis, env: str) -> list[dict[str, Any]]:
    stack = synthesis.stack(f"{env}-cluster")
    documents = data_of(stack, "aws_iam_policy_document")
    return next(body for key, body in documents.items() if key.startswith("karpenter_controller_role_permissions"))["statement"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_controller_policy_is_upstreams_scoped_to_this_cluster(env: str, synthesis: Synthesis) -> None:
    names, stack = names_for(SPECS[env]), synthesis.stack(f"{env}-cluster")
    statements = {statement["sid"]: statement for statement in _controller_policy(synthesis, env)}
    passing = [s for s in statements.values() if "iam:PassRole" in s["actions"]]
    assert [s["resources"] for s in passing] == [[f"${{aws_iam_role.{_logical_id(stack, 'aws_iam_role', names.karpenter_node_role)}.arn}}"]]
    owned = f"aws:ResourceTag/kubernetes.io/cluster/{names.cluster_name}"
    tagging = f"aws:RequestTag/kubernetes.io/cluster/{names.cluster_name}"
    writes = (
        "ec2:TerminateInstances",
        "ec2:DeleteLaunchTemplate",
        "ec2:CreateLaunchTemplate",
        "iam:CreateInstanceProfile",
        "iam:DeleteInstanceProfile",
    )
    for statement in statements.values():
        variables = {condition["variable"] for condition in statement.get("condition", [])}
        if any(action in statement["actions"] for action in writes) or statement["sid"] == "AllowScopedResourceTagging":
            assert owned in variables or tagging in variables, f"{statement['sid']} is not limited to this cluster's resources"
        for resource in statement["resources"]:
            aws_owned = any(public in resource for public in ("::image/", "::snapshot/", "::parameter/aws/service/"))
            assert resource == "*" or names.account in resource or aws_owned or "${" in resource
            assert f":{names.region}:" in resource or resource == "*" or ":iam::" in resource or "${" in resource
    # Unscoped only where upstream is, and those take no resource.
    unscoped = sorted(sid for sid, s in statements.items() if s["resources"] == ["*"])
    assert unscoped == [
        "AllowPricingReadActions",
        "AllowRegionalReadActions",
        "AllowUnscopedInstanceProfileListAction",
        "AllowZonalShiftStatusReadOnly",
    ]
    assert statements["AllowInterruptionQueueActions"]["resources"] == [
        f"${{aws_sqs_queue.{_logical_id(stack, 'aws_sqs_queue', names.karpenter_interruption_queue)}.arn}}"
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_interruption_events_reach_an_encrypted_queue_only_from_the_rules(env: str, synthesis: Synthesis) -> None:
    stack = synthesis.stack(f"{env}-cluster")
    queue_id, queue = next(iter(resources_of(stack, "aws_sqs_queue").items()))
    assert queue["sqs_managed_sse_enabled"] is True and queue["message_retention_seconds"] == 300
    rules = resources_of(stack, "aws_cloudwatch_event_rule")
    patterns = sorted(
        (json.loads(rule["event_pattern"])["source"][0], json.loads(rule["event_pattern"])["detail-type"][0]) for rule in rules.values()
    )
    assert patterns == sorted(
        [
            ("aws.health", "AWS Health Event"),
            ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
            ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
            ("aws.ec2", "EC2 Instance State-change Notification"),
            ("aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
        ]
    )
    targets = resources_of(stack, "aws_cloudwatch_event_target").values()
    assert sorted(ref(t["rule"]) for t in targets) == sorted(rules) and all(ref(t["arn"]) == queue_id for t in targets)
    policy = only({k: v for k, v in data_of(stack, "aws_iam_policy_document").items() if k.startswith("karpenter_queue_policy")})
    send = next(s for s in policy["statement"] if s["actions"] == ["sqs:SendMessage"])
    assert send["principals"] == [{"type": "Service", "identifiers": ["events.amazonaws.com"]}]
    (source_arn,) = send["condition"]
    assert source_arn["variable"] == "aws:SourceArn" and sorted(ref(arn) for arn in source_arn["values"]) == sorted(rules)
    assert any(s["effect"] == "Deny" and s["condition"][0]["variable"] == "aws:SecureTransport" for s in policy["statement"])


# --- the Helm add-on ---
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_controller_runs_on_the_system_nodes_only(env: str, synthesis: Synthesis) -> None:
    """Values keys of charts/karpenter/values.yaml at v1.14.1; the system group carries the
    CriticalAddonsOnly taint and the node-role label `system` (stacks/cluster/nodes.py)."""
    values = karpenter(SPECS[env]).values
    assert values["nodeSelector"]["ai-subsidy.io/node-role"] == "system"
    assert {"key": "CriticalAddonsOnly", "operator": "Exists"} in values["tolerations"]
    terms = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "karpenter.sh/nodepool", "operator": "DoesNotExist"}]}]
    assert values["controller"]["resources"]["requests"] and values["controller"]["resources"]["limits"]["memory"]
    system = synthesis.stack(f"{env}-cluster")["resource"]["aws_eks_node_group"]
    (group,) = [g for g in system.values() if g["labels"]["ai-subsidy.io/node-role"] == "system"]
    assert group["capacity_type"] == "ON_DEMAND"
    application = synthesis.find(env, "Application", KARPENTER_CHART.name)[0]["spec"]["source"]
    assert (application["repoURL"], application["chart"], application["targetRevision"]) == (
        "public.ecr.aws/karpenter",
        "karpenter",
        "1.14.1",
    )


def test_oci_repository_needs_no_repository_secret() -> None:
    """Argo CD treats a repoURL whose parsed host is empty as an OCI Helm registry
    (argo-cd util/helm/client.go IsHelmOciRepo; reposerver uses `repo.EnableOCI || IsHelmOciRepo`)."""
    assert urlparse(KARPENTER_CHART.repository).netloc == ""
    assert urlparse("https://charts.external-secrets.io").netloc != ""


def test_karpenter_crds_fit_client_side_apply() -> None:
    """The chart's crds/ are these files; the largest must fit the last-applied annotation."""
    sizes = {name: len(json.dumps(load_crd(CRDS / name), separators=(",", ":"))) for name in CRD_FILES.values()}
    sizes["karpenter.sh_nodeclaims.yaml"] = len(json.dumps(load_crd(CRDS / "karpenter.sh_nodeclaims.yaml"), separators=(",", ":")))
    assert max(sizes.values()) < LAST_APPLIED_LIMIT, sizes


# --- priorities ---
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_user_facing_pods_outrank_the_worker(env: str, synthesis: Synthesis) -> None:
    classes = {doc["metadata"]["name"]: doc["value"] for doc in synthesis.find(env, "PriorityClass")}
    deployments = {
        doc["metadata"]["name"]: doc["spec"]["template"]["spec"]["priorityClassName"] for doc in synthesis.find(env, "Deployment")
    }
    backend, frontend, worker = (classes[deployments[name]] for name in ("ai-subsidy-backend", "ai-subsidy-frontend", "ai-worker"))
    assert backend > worker and frontend > worker
    assert max(classes.values()) < 1_000_000_000, "user classes stay below system-cluster-critical"
    assert karpenter(SPECS[env]).values["priorityClassName"] == "system-cluster-critical"
    waves = {
        doc["metadata"]["name"]: int(doc["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
        for doc in synthesis.find(env, "Application")
        if doc["metadata"].get("annotations")
    }
    assert waves["ai-subsidy-scheduling"] < waves["ai-subsidy-workloads"], "PriorityClasses and the NodePool exist before the pods"


# --- capacity proof ---
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_node_pool_limits_hold_the_hpa_maxima(env: str) -> None:
    spec = SPECS[env]
    settings = spec.node_autoscaling
    for packing in packings(spec):
        assert packing.millicpu <= settings.cpu_limit * 1000, packing
        assert packing.memory_mib <= settings.memory_limit_gib * 1024, packing
    largest = max(peak_pods(spec), key=lambda pod: (pod.millicpu, pod.memory_mib))
    smallest = min((allocatable(t) for t in allowed_instance_types(spec)), key=lambda a: (a.millicpu, a.memory_mib))
    assert largest.millicpu < smallest.millicpu and largest.memory_mib < smallest.memory_mib


def test_allocatable_follows_karpenters_arithmetic() -> None:
    """pkg/providers/instancetype/types.go at v1.14.1: m5.large has 29 pods (3 ENIs x 9 + 2), kube-reserved
    70m CPU (60 + 10) and 11 x 29 + 255 MiB memory, 100 MiB eviction, 7.5 % VM overhead of 8192 MiB."""
    node = allocatable("m5.large")
    assert node.max_pods == 29
    assert node.millicpu == 2000 - 70
    assert node.capacity_memory_mib == 8192 - 615
    assert node.memory_mib == 8192 - 615 - (11 * 29 + 255) - 100
    assert allocatable("m6i.2xlarge").millicpu == 8000 - (60 + 10 + 10 + 10)


def test_a_spec_whose_limits_cannot_hold_its_maxima_is_refused(tmp_path: Path) -> None:
    source = (ROOT / "environments" / "staging.yaml").read_text(encoding="utf-8")
    path = tmp_path / "staging.yaml"
    path.write_text(source + "node_autoscaling:\n  cpu_limit: 4\n  memory_limit_gib: 8\n", encoding="utf-8")
    with pytest.raises(SpecError) as raised:
        load_file(path)
    message = str(raised.value)
    assert "node_autoscaling.cpu_limit" in message and "4 vCPUs cannot hold the HPA maxima" in message and "= 8 vCPUs" in message
    assert "node_autoscaling.memory_limit_gib" in message and "8 GiB" in message
    assert re.search(r"staging\.yaml:\d+: node_autoscaling\.cpu_limit", message), message


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_unconsumed_interruption_messages_raise_an_alarm(env: str, synthesis: Synthesis) -> None:
    """AWS/SQS ApproximateAgeOfOldestMessage of exactly the queue the cluster stack creates, above two
    minutes (a spot warning's notice) and below the queue's 300 s retention, notifying the alarm topic."""
    queue = only(resources_of(synthesis.stack(f"{env}-cluster"), "aws_sqs_queue"))
    observability = synthesis.stack(f"{env}-observability")
    alarms = resources_of(observability, "aws_cloudwatch_metric_alarm").values()
    (alarm,) = [a for a in alarms if a.get("namespace") == "AWS/SQS" and a.get("dimensions", {}).get("QueueName") == queue["name"]]
    assert (alarm["metric_name"], alarm["dimensions"]) == ("ApproximateAgeOfOldestMessage", {"QueueName": queue["name"]})
    assert alarm["statistic"] == "Maximum" and 120 <= alarm["threshold"] < queue["message_retention_seconds"]
    (action,) = alarm["alarm_actions"]
    assert ref(action) in resources_of(observability, "aws_sns_topic") and alarm["ok_actions"] == [action]


@pytest.mark.parametrize(
    ("addition", "field", "reason"),
    [
        ("  instance_families: [c7g]\n", "node_autoscaling.instance_families", "c7g not in the capacity table"),
        ("  instance_sizes: [medium]\n", "node_autoscaling.instance_sizes", "is not in the capacity table"),
        ("  consolidate_after: ''\n", "node_autoscaling.consolidate_after", "should match pattern"),
        ("  image_alias: bottlerocket@v1.20.0\n", "node_autoscaling.image_alias", "should match pattern"),
    ],
)
def test_bad_node_autoscaling_settings_get_one_clear_error(addition: str, field: str, reason: str, tmp_path: Path) -> None:
    source = (ROOT / "environments" / "staging.yaml").read_text(encoding="utf-8")
    path = tmp_path / "staging.yaml"
    path.write_text(source + "node_autoscaling:\n" + addition, encoding="utf-8")
    with pytest.raises(SpecError) as raised:
        load_file(path)
    (problem,) = raised.value.problems
    assert problem.field == field and reason in problem.reason and problem.line, problem
