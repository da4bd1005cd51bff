"""The standby in the DR region: its stacks (`<env>-dr-*`), the failover records, and its manifests (`dist/<env>-dr`).

Each test encodes what the real service or controller does with the output, and says where that rule is written:
the Terraform AWS provider and RDS guide for a cross-region read replica, Route 53's failover and health-check
behaviour, ExternalDNS v0.21.0's ingress source, Argo CD's declarative cluster Secret, and the Kubernetes HPA
controller's handling of a target at zero replicas.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from envspec.naming import APP_NAMESPACE, ARGOCD_NAMESPACE, DR_LAYERS, LAYERS, names_for
from envspec.replica_lag import SUSTAINED_PERIODS
from envspec.topology import BACKEND
from stacks.cluster.argocd_registration import ARGOCD_SERVICE_ACCOUNTS
from stacks.data.database import parameters_for
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis, data_of, only, resources_of

STANDBY = [env for env in ENVIRONMENTS if SPECS[env].dr.has_standby]
# Attributes a read replica takes from its source: the provider docs (aws_db_instance, `replicate_source_db`) and
# the RDS User Guide ("Working with DB instance read replicas"; "Password management with Amazon RDS and AWS
# Secrets Manager", limitations: a read replica's master password cannot be managed) leave them to the source.
FROM_THE_SOURCE = ("username", "password", "db_name", "manage_master_user_password", "engine", "engine_version", "allocated_storage")


def _dr(synthesis: Synthesis, env: str, layer: str) -> dict[str, Any]:
    return synthesis.stack(f"{env}-dr-{layer}")


def _default_region(stack: dict[str, Any]) -> str:
    return next(provider["region"] for provider in stack["provider"]["aws"] if "alias" not in provider)


def _alias_region(stack: dict[str, Any], reference: str) -> str:
    alias = reference.removeprefix("aws.")
    return next(provider["region"] for provider in stack["provider"]["aws"] if provider.get("alias") == alias)


def _logical_id(reference: str, kind: str) -> str:
    match = re.fullmatch(rf"\$\{{{kind}\.([^.]+)\.\w+\}}", reference)
    assert match, f"{reference!r} does not reference a {kind} of the same stack"
    return match.group(1)


def test_standby_stacks_only_where_the_mode_keeps_a_standby(synthesis: Synthesis) -> None:
    for env in ENVIRONMENTS:
        standby = {stack for stack in synthesis.stack_ids if stack.startswith(f"{env}-dr-")}
        expected = {f"{env}-{layer}" for layer in DR_LAYERS} if SPECS[env].dr.has_standby else set()
        assert standby == expected, env
    assert SPECS["development"].dr.mode == "backup-restore"


@pytest.mark.parametrize("env", STANDBY)
def test_standby_stacks_run_in_the_dr_region_with_their_state_beside_the_primarys(env: str, synthesis: Synthesis) -> None:
    names = names_for(SPECS[env])
    for layer in DR_LAYERS:
        stack = synthesis.stack(f"{env}-{layer}")
        assert _default_region(stack) == SPECS[env].aws.dr_region, layer
        backend = stack["terraform"]["backend"]["s3"]
        assert (backend["bucket"], backend["key"], backend["region"]) == (names.state_bucket, names.state_key(layer), SPECS[env].aws.region)


@pytest.mark.parametrize("env", STANDBY)
def test_the_same_constructs_build_both_networks(env: str, synthesis: Synthesis) -> None:
    """No copy-pasted stack: the standby's network is the primary's resource for resource, on the DR VPC range."""
    primary, standby = synthesis.stack(f"{env}-network"), _dr(synthesis, env, "network")
    count = {kind: len(items) for kind, items in primary["resource"].items()}
    dr_count = {kind: len(items) for kind, items in standby["resource"].items()}
    nat = "aws_nat_gateway", "aws_eip"
    assert {k: v for k, v in count.items() if k not in nat} == {k: v for k, v in dr_count.items() if k not in nat}
    assert len(resources_of(standby, "aws_nat_gateway")) == (3 if SPECS[env].dr.nat_gateways == "per_az" else 1)
    (vpc,) = resources_of(standby, "aws_vpc").values()
    assert vpc["cidr_block"] == str(SPECS[env].dr.vpc_cidr)
    zones = {subnet["availability_zone"] for subnet in resources_of(standby, "aws_subnet").values()}
    assert zones == set(names_for(SPECS[env]).dr_availability_zones)


@pytest.mark.parametrize("env", STANDBY)
def test_standby_cluster_runs_its_system_nodes_only(env: str, synthesis: Synthesis) -> None:
    cluster = _dr(synthesis, env, "cluster")
    (group,) = resources_of(cluster, "aws_eks_node_group").values()
    size = group["scaling_config"]
    assert size["min_size"] == size["desired_size"] == SPECS[env].dr.system_node_count
    assert group["labels"]["ai-subsidy.io/node-role"] == "system"
    assert group["taint"], "tainted for cluster-critical add-ons, as the primary's"
    (control_plane,) = resources_of(cluster, "aws_eks_cluster").values()
    primary = only(resources_of(synthesis.stack(f"{env}-cluster"), "aws_eks_cluster"))
    for hardening in ("encryption_config", "enabled_cluster_log_types", "access_config", "upgrade_policy"):
        assert control_plane[hardening] == primary[hardening], hardening
    # Public access only for the primary's Argo CD (tests/test_argocd_reachability.py), never wider than the primary's.
    assert control_plane["vpc_config"]["endpoint_public_access"] is True
    assert control_plane["vpc_config"]["endpoint_private_access"] == primary["vpc_config"]["endpoint_private_access"]
    assert control_plane["name"] == names_for(SPECS[env]).dr_cluster_name
    assert resources_of(cluster, "aws_sqs_queue"), "Karpenter's interruption queue: it provides the application capacity on failover"


@pytest.mark.parametrize("env", STANDBY)
def test_the_replica_is_a_cross_region_read_replica_of_the_primary(env: str, synthesis: Synthesis) -> None:
    """`replicate_source_db` is the source's ARN across regions (provider docs); an encrypted source needs a KMS
    key and a subnet group of the replica's region (RDS User Guide, "Creating a read replica in a different AWS
    Region"); what the replica takes from its source is not set (RDS refuses a managed master password on one)."""
    spec, names = SPECS[env], names_for(SPECS[env])
    data = _dr(synthesis, env, "data")
    replica = only(resources_of(data, "aws_db_instance"))
    assert replica["identifier"] == names.dr_database_identifier
    assert replica["replicate_source_db"] == f"arn:aws:rds:{spec.aws.region}:{spec.aws.account_id}:db:{names.database_identifier}"
    assert not [key for key in FROM_THE_SOURCE if key in replica]
    key_id = _logical_id(replica["kms_key_id"], "aws_kms_key")
    assert "provider" not in resources_of(data, "aws_kms_key")[key_id], "the DR region's own key"
    assert _default_region(data) == spec.aws.dr_region
    assert replica["storage_encrypted"] is True and replica["publicly_accessible"] is False
    subnet_group = resources_of(data, "aws_db_subnet_group")[_logical_id(replica["db_subnet_group_name"], "aws_db_subnet_group")]
    assert len(subnet_group["subnet_ids"]) == len(spec.availability_zones)
    assert all(f"{env}-dr-network" in ref and "isolated" in ref for ref in subnet_group["subnet_ids"]), subnet_group["subnet_ids"]
    group = resources_of(data, "aws_db_parameter_group")[_logical_id(replica["parameter_group_name"], "aws_db_parameter_group")]
    assert group["family"] == f"postgres{spec.database.engine_major_version}"
    assert {p["name"]: p["value"] for p in group["parameter"]} == parameters_for(spec.database.parameters)
    assert replica["backup_retention_period"] >= 1, "automated backups on the replica: point-in-time recovery once promoted"
    assert replica["skip_final_snapshot"] is True, "RDS refuses a final snapshot of a read replica"
    assert replica["instance_class"] == spec.dr.database_instance_class


@pytest.mark.parametrize("env", STANDBY)
def test_the_replicated_automated_backups_stay(env: str, synthesis: Synthesis) -> None:
    backup = synthesis.stack(f"{env}-backup")
    (replication,) = resources_of(backup, "aws_db_instance_automated_backups_replication").values()
    assert replication["source_db_instance_arn"] == names_for(SPECS[env]).database_arn


@pytest.mark.parametrize("env", STANDBY)
def test_replica_lag_above_the_rpo_pages_through_the_dr_regions_topic(env: str, synthesis: Synthesis) -> None:
    """A region loss takes the primary's SNS topic with it: the lag alarm notifies the DR region's own topic."""
    spec, standby = SPECS[env], names_for(SPECS[env]).standby
    data = _dr(synthesis, env, "data")
    (lag,) = [alarm for alarm in resources_of(data, "aws_cloudwatch_metric_alarm").values() if alarm.get("metric_name") == "ReplicaLag"]
    assert lag["namespace"] == "AWS/RDS" and lag["dimensions"] == {"DBInstanceIdentifier": standby.database_identifier}
    assert lag["threshold"] == spec.alarms.rds_replica_lag_seconds <= spec.backup.recovery_point_objective_minutes * 60
    # The lowest value of every minute of a window longer than an idle primary's climb (tests/test_replica_lag_alarm.py).
    assert lag["comparison_operator"] == "GreaterThanThreshold" and lag["statistic"] == "Minimum" and lag["period"] == 60
    assert lag["evaluation_periods"] == lag["datapoints_to_alarm"] == SUSTAINED_PERIODS
    assert lag["treat_missing_data"] == "breaching", "a replica that stopped replicating reports no lag"
    topic_id = _logical_id(lag["alarm_actions"][0], "aws_sns_topic")
    topic = resources_of(data, "aws_sns_topic")[topic_id]
    assert topic["name"] == standby.alarm_topic and "provider" not in topic
    assert f":{spec.aws.dr_region}:" in names_for(spec).dr_alarm_topic_arn and names_for(spec).dr_alarm_topic_arn.endswith(topic["name"])
    emails = {sub["endpoint"] for sub in resources_of(data, "aws_sns_topic_subscription").values() if sub["protocol"] == "email"}
    assert emails == set(spec.alarms.notification_emails)


@pytest.mark.parametrize("env", STANDBY)
def test_standby_redis_is_its_own_and_empty(env: str, synthesis: Synthesis) -> None:
    """Rebuilt empty, not a Global Datastore (docs/disaster-recovery.md, 'Redis on a region loss')."""
    spec, standby = SPECS[env], names_for(SPECS[env]).standby
    data = _dr(synthesis, env, "data")
    group = only(resources_of(data, "aws_elasticache_replication_group"))
    assert group["replication_group_id"] == standby.cache_replication_group
    assert "global_replication_group_id" not in group and "snapshot_arns" not in group
    assert group["node_type"] == spec.dr.cache_node_type and group["num_cache_clusters"] == spec.dr.cache_num_nodes
    assert not resources_of(data, "aws_elasticache_global_replication_group")
    secrets = {secret["name"] for secret in resources_of(data, "aws_secretsmanager_secret").values()}
    assert secrets == {standby.cache_auth_token_secret, standby.secret_name("redis")}
    assert standby.secret_name("redis") == f"ai-subsidy/{env}-dr/app/redis"


@pytest.mark.parametrize("env", STANDBY)
def test_failover_records_and_the_primarys_health_check(env: str, synthesis: Synthesis) -> None:
    """Route 53 answers a failover name with the PRIMARY while its health check passes and with the SECONDARY
    otherwise (Route 53 Developer Guide, "Failover routing"); the checker requests `/api/health` through the
    primary's ALB by its origin host, never by a public host (those resolve through these records: once the
    primary fails the checks would reach the standby, pass, and flip traffic back)."""
    spec, names = SPECS[env], names_for(SPECS[env])
    dns = _dr(synthesis, env, "dns")
    check = only(resources_of(dns, "aws_route53_health_check"))
    assert (check["type"], check["port"], check["resource_path"], check["enable_sni"]) == ("HTTPS", 443, BACKEND.health_path, True)
    assert check["fqdn"] == names.primary_origin_host == f"primary-origin.{spec.dns.zone_name}"
    assert check["request_interval"] == spec.dr.health_check_interval_seconds
    assert check["failure_threshold"] == spec.dr.health_check_failure_threshold
    records = list(resources_of(dns, "aws_route53_record").values())
    hosts = {spec.dns.frontend_host, spec.dns.api_host}
    assert {record["name"] for record in records} == hosts
    assert check["fqdn"] not in hosts
    for host in hosts:
        by_role = {record["failover_routing_policy"]["type"]: record for record in records if record["name"] == host}
        assert set(by_role) == {"PRIMARY", "SECONDARY"}, host
        primary, secondary = by_role["PRIMARY"], by_role["SECONDARY"]
        assert primary["health_check_id"] == f"${{aws_route53_health_check.{next(iter(resources_of(dns, 'aws_route53_health_check')))}.id}}"
        assert "health_check_id" not in secondary
        assert primary["alias"]["name"] == names.primary_origin_host
        assert secondary["alias"]["name"] == names.standby.origin_host == f"dr-origin.{spec.dns.zone_name}"
        assert primary["set_identifier"] != secondary["set_identifier"]
        assert primary["alias"]["evaluate_target_health"] is secondary["alias"]["evaluate_target_health"] is True
        assert primary["type"] == secondary["type"] == "A"


@pytest.mark.parametrize("env", STANDBY)
def test_externaldns_writes_only_each_sides_origin_host(env: str, synthesis: Synthesis) -> None:
    """ExternalDNS v0.21.0 source/ingress.go: with `ingress-hostname-source: annotation-only` an Ingress yields the
    endpoints of its `hostname` annotation only, so it never writes the public hosts Terraform's failover
    records own. Each side's Ingress still serves its origin host (the health checker's Host header), and each
    side's certificate covers it (the load balancer controller discovers certificates by the Ingress hosts)."""
    spec, names = SPECS[env], names_for(SPECS[env])
    for folder, side, edge in ((env, names, f"{env}-edge"), (f"{env}-dr", names.standby, f"{env}-dr-edge")):
        (ingress,) = synthesis.find(folder, "Ingress")
        annotations = ingress["metadata"]["annotations"]
        assert annotations["external-dns.alpha.kubernetes.io/ingress-hostname-source"] == "annotation-only"
        assert annotations["external-dns.alpha.kubernetes.io/hostname"] == side.origin_host
        assert [rule["host"] for rule in ingress["spec"]["rules"]] == [spec.dns.frontend_host, spec.dns.api_host, side.origin_host]
        certificate = only(resources_of(synthesis.stack(edge), "aws_acm_certificate"))
        assert [certificate["domain_name"], *certificate["subject_alternative_names"]] == list(side.ingress_hosts)
        waf = only(resources_of(synthesis.stack(edge), "aws_wafv2_web_acl"))
        assert annotations["alb.ingress.kubernetes.io/wafv2-acl-name"] == waf["name"] == side.web_acl
        assert annotations["alb.ingress.kubernetes.io/load-balancer-name"] == names.load_balancer_name
    dr_edge = _dr(synthesis, env, "edge")
    assert not resources_of(dr_edge, "aws_route53_zone"), "the standby validates in the primary's zone (Route 53 is global)"
    assert only(data_of(dr_edge, "aws_route53_zone"))["name"] == spec.dns.zone_name


@pytest.mark.parametrize("env", STANDBY)
def test_argocd_registers_the_standby_through_iam_with_no_token(env: str, synthesis: Synthesis) -> None:
    """Argo CD reads a cluster from a Secret labelled `argocd.argoproj.io/secret-type: cluster` with `name`,
    `server` and `config`; `config.awsAuthConfig.clusterName` makes it authenticate with its own AWS identity
    (argoproj/argo-cd v3.5.1, docs/operator-manual/declarative-setup.md "EKS"). No bearer token anywhere."""
    names = names_for(SPECS[env])
    (root,) = [app for app in synthesis.find(env, "Application") if app["metadata"]["name"] == "gitops-dr"]
    assert root["spec"]["source"]["path"] == f"dist/{env}-dr" and root["spec"]["source"]["targetRevision"] == names.gitops_branch
    (registration,) = [es for es in synthesis.find(f"{env}-dr", "ExternalSecret") if es["metadata"]["namespace"] == ARGOCD_NAMESPACE]
    assert registration["metadata"]["name"] == names.argocd_dr_cluster
    target = registration["spec"]["target"]
    assert target["template"]["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "cluster"
    assert set(target["template"]["data"]) == {"name", "server", "config"}
    config = json.loads(target["template"]["data"]["config"])
    assert config == {"awsAuthConfig": {"clusterName": "{{ .clusterName }}"}, "tlsClientConfig": {"caData": "{{ .caData }}"}}
    remote = {(item["remoteRef"]["key"], item["remoteRef"]["property"]) for item in registration["spec"]["data"]}
    assert {key for key, _ in remote} == {names.argocd_dr_cluster_secret}
    # What `<env>-dr-cluster` writes is exactly what the ExternalSecret reads, in the primary region.
    cluster = _dr(synthesis, env, "cluster")
    (secret,) = [s for s in resources_of(cluster, "aws_secretsmanager_secret").values() if s["name"] == names.argocd_dr_cluster_secret]
    assert _alias_region(cluster, secret["provider"]) == SPECS[env].aws.region
    (value,) = resources_of(cluster, "aws_secretsmanager_secret_version").values()
    written = set(re.findall(r'\\"(\w+)\\" =', json.dumps(value["secret_string"])))
    assert written == {prop for _, prop in remote}
    assert "token" not in value["secret_string"].lower()
    associations = [a for a in resources_of(cluster, "aws_eks_pod_identity_association").values() if a["namespace"] == ARGOCD_NAMESPACE]
    assert {(a["cluster_name"], a["service_account"]) for a in associations} == {(names.cluster_name, sa) for sa in ARGOCD_SERVICE_ACCOUNTS}
    assert all(_alias_region(cluster, a["provider"]) == SPECS[env].aws.region for a in associations)
    entries = [e for e in resources_of(cluster, "aws_eks_access_entry").values() if "argocd" in e["principal_arn"]]
    assert len(entries) == 1 and "provider" not in entries[0], "the access entry is on the standby cluster"
    # The primary's External Secrets may read the registration.
    policies = json.dumps(data_of(synthesis.stack(f"{env}-data"), "aws_iam_policy_document"))
    assert names.secret_arn(names.argocd_dr_cluster_secret) in policies
    for app in synthesis.find(f"{env}-dr", "Application"):
        assert app["spec"]["destination"] == {"name": names.argocd_dr_cluster, "namespace": app["spec"]["destination"]["namespace"]}
        assert app["metadata"]["name"].endswith("-dr")
        if "path" in app["spec"]["source"]:
            assert app["spec"]["source"]["path"] == f"dist/{env}-dr"


def hpa_scales(target_replicas: int, min_replicas: int) -> bool:
    """kubernetes/kubernetes v1.35.0 pkg/controller/podautoscaler/horizontal.go, reconcileAutoscaler: a target at
    zero replicas with a non-zero minReplicas is left alone ("Autoscaling is disabled for this resource",
    ScalingActive=False, reason ScalingDisabled); otherwise the controller scales it into min..max."""
    return not (target_replicas == 0 and min_replicas != 0)


@pytest.mark.parametrize("env", STANDBY)
def test_standby_applications_stand_at_zero_until_failover(env: str, synthesis: Synthesis) -> None:
    spec = SPECS[env]
    folder = f"{env}-dr"
    deployments = {d["metadata"]["name"]: d for d in synthesis.find(folder, "Deployment") if d["metadata"]["namespace"] == APP_NAMESPACE}
    autoscalers = {h["spec"]["scaleTargetRef"]["name"]: h for h in synthesis.find(folder, "HorizontalPodAutoscaler")}
    assert deployments and set(deployments) == set(autoscalers)
    for name, deployment in deployments.items():
        replicas, minimum = deployment["spec"]["replicas"], autoscalers[name]["spec"]["minReplicas"]
        assert minimum >= 1, "the API refuses minReplicas 0 unless the HPAScaleToZero feature gate is on"
        assert replicas == 0 and not hpa_scales(replicas, minimum), name
    # The primary's Deployments leave the count to the autoscaler (absent replicas: 1 on creation, then scaled).
    for deployment in synthesis.find(env, "Deployment"):
        if deployment["metadata"]["namespace"] == APP_NAMESPACE:
            assert "replicas" not in deployment["spec"]
            assert hpa_scales(1, 1)
    (workloads,) = [a for a in synthesis.find(folder, "Application") if a["metadata"]["name"] == "ai-subsidy-workloads-dr"]
    assert workloads["spec"]["ignoreDifferences"] == [{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}]
    assert "RespectIgnoreDifferences=true" in workloads["spec"]["syncPolicy"]["syncOptions"]
    # No migration or role bootstrap against a read replica.
    assert not synthesis.find(folder, "Job")
    assert spec.dr.mode == "pilot-light"


@pytest.mark.parametrize("env", STANDBY)
def test_the_standby_reads_the_dr_region_replicas_and_the_files_replica(env: str, synthesis: Synthesis) -> None:
    spec, names = SPECS[env], names_for(SPECS[env])
    standby = names.standby
    (store,) = synthesis.find(f"{env}-dr", "ClusterSecretStore")
    assert store["spec"]["provider"]["aws"]["region"] == spec.aws.dr_region
    remote = {
        es["metadata"]["name"]: {item["remoteRef"]["key"] for item in es["spec"].get("data", [])}
        for es in synthesis.find(f"{env}-dr", "ExternalSecret")
        if es["metadata"]["namespace"] == APP_NAMESPACE
    }
    for binding in names.app_secrets:
        expected = standby.secret_name("redis") if binding.kubernetes_name == "redis-secret" else binding.remote_name
        assert remote[binding.kubernetes_name] == {expected}, binding.kubernetes_name
    # Replicas exist where the primary's secrets are replicated to the DR region.
    primary_secrets = resources_of(synthesis.stack(f"{env}-data"), "aws_secretsmanager_secret").values()
    replicated = {s["name"] for s in primary_secrets if any(r["region"] == spec.aws.dr_region for r in s.get("replica", []))}
    assert {b.remote_name for b in names.app_secrets if b.kubernetes_name != "redis-secret"} <= replicated
    settings = {
        cm["metadata"]["name"]: cm["data"] for cm in synthesis.find(f"{env}-dr", "ConfigMap") if "FILES_BUCKET" in cm.get("data", {})
    }
    assert settings and all(data["FILES_BUCKET"] == names.bucket("files-dr") for data in settings.values())
    assert all(data["AWS_REGION"] == spec.aws.dr_region for data in settings.values())
    buckets = {b["bucket"] for b in resources_of(synthesis.stack(f"{env}-backup"), "aws_s3_bucket").values()}
    assert names.bucket("files-dr") in buckets, "the replica bucket the standby names is the backup stack's"
    primary = {cm["metadata"]["name"]: cm["data"] for cm in synthesis.find(env, "ConfigMap") if "FILES_BUCKET" in cm.get("data", {})}
    assert all(data["FILES_BUCKET"] == names.bucket("files") for data in primary.values())


def test_primary_layers_are_unchanged_in_order() -> None:
    assert LAYERS[-1] == "ci" and DR_LAYERS[0] == "dr-network" and DR_LAYERS[-1] == "dr-dns"


def _secret_refs(objects: list[dict[str, Any]]) -> set[tuple[str, str]]:
    refs = set()
    for doc in objects:
        pod = doc.get("spec", {}).get("template", {}).get("spec", {})
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            for variable in container.get("env", []):
                ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    refs.add((doc["metadata"]["namespace"], ref["name"]))
    return refs


@pytest.mark.parametrize("env", STANDBY)
def test_standby_contract_every_secret_is_produced_and_every_remote_key_exists(env: str, synthesis: Synthesis) -> None:
    """DESIGN.md's contract on the standby: each secretKeyRef names a Secret an ExternalSecret of its namespace
    produces, and each remote key is a secret Terraform creates in the region the store reads (the primary's
    replicas, or the standby's own), or, for Argo CD's registration, in the primary region."""
    folder = f"{env}-dr"
    external = synthesis.find(folder, "ExternalSecret")
    produced = {(es["metadata"]["namespace"], es["spec"]["target"]["name"]) for es in external}
    assert _secret_refs(synthesis.manifests(folder)) <= produced
    primary_data = resources_of(synthesis.stack(f"{env}-data"), "aws_secretsmanager_secret").values()
    replicas = {s["name"] for s in primary_data if any(r["region"] == SPECS[env].aws.dr_region for r in s.get("replica", []))}
    own = {s["name"] for s in resources_of(_dr(synthesis, env, "data"), "aws_secretsmanager_secret").values()}
    registration = {s["name"] for s in resources_of(_dr(synthesis, env, "cluster"), "aws_secretsmanager_secret").values()}
    for es in external:
        keys = {item["remoteRef"]["key"] for item in es["spec"].get("data", [])}
        allowed = registration if es["metadata"]["namespace"] == ARGOCD_NAMESPACE else replicas | own
        assert keys <= allowed, (es["metadata"]["name"], keys - allowed)
