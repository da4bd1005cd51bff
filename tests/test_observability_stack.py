"""The `<env>-observability` stack: CloudWatch alarms with the spec's thresholds, all notifying a
KMS-encrypted SNS topic that only this environment's alarms may publish to."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from envspec import SpecError, load_environments, names_for
from tests.conftest import ENVIRONMENTS, ROOT, SPECS, Synthesis, data_of, resources_of

GIB = 1024**3


def _stack(synthesis: Synthesis, env: str) -> dict[str, Any]:
    return synthesis.stack(f"{env}-observability")


def _alarms(synthesis: Synthesis, env: str) -> dict[str, dict[str, Any]]:
    """Alarms by name, without the environment prefix."""
    prefix = names_for(SPECS[env]).prefix + "-"
    alarms = resources_of(_stack(synthesis, env), "aws_cloudwatch_metric_alarm").values()
    assert all(alarm["alarm_name"].startswith(prefix) for alarm in alarms)
    return {alarm["alarm_name"].removeprefix(prefix): alarm for alarm in alarms}


def _ref(stack: dict[str, Any], resource_type: str) -> str:
    (logical_id,) = resources_of(stack, resource_type)
    return f"${{{resource_type}.{logical_id}.arn}}"


def _policy(stack: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for d in data_of(stack, "aws_iam_policy_document").values() for s in d["statement"] if s["sid"] == sid)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_topics_are_encrypted_with_the_stacks_own_key(env: str, synthesis: Synthesis) -> None:
    stack, names = _stack(synthesis, env), names_for(SPECS[env])
    topics = resources_of(stack, "aws_sns_topic").values()
    assert sorted(topic["name"] for topic in topics) == sorted([names.alarm_topic, names.notice_topic])
    assert {topic["kms_master_key_id"] for topic in topics} == {_ref(stack, "aws_kms_key")}
    (key,) = resources_of(stack, "aws_kms_key").values()
    assert key["enable_key_rotation"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_this_environments_alarms_may_use_the_key_and_publish(env: str, synthesis: Synthesis) -> None:
    stack = _stack(synthesis, env)
    names = names_for(SPECS[env])
    for sid, actions in (
        ("CloudWatchAlarmsPublishToTheEncryptedTopics", ["kms:Decrypt", "kms:GenerateDataKey*"]),
        ("CloudWatchAlarmsPublish", ["sns:Publish"]),
    ):
        statement = _policy(stack, sid)
        assert statement["actions"] == actions
        assert statement["principals"] == [{"type": "Service", "identifiers": ["cloudwatch.amazonaws.com"]}]
        conditions = {(c["test"], c["variable"]): c["values"] for c in statement["condition"]}
        assert conditions.pop(("StringEquals", "kms:EncryptionContext:aws:sns:topicArn"), None) in (
            None,
            [names.topic_arn(names.alarm_topic), names.topic_arn(names.notice_topic)],
        )
        assert conditions == {
            ("StringEquals", "aws:SourceAccount"): [SPECS[env].aws.account_id],
            ("ArnLike", "aws:SourceArn"): [f"arn:aws:cloudwatch:ap-northeast-1:{SPECS[env].aws.account_id}:alarm:{names.prefix}-*"],
        }
    deny = _policy(stack, "DenyPublishWithoutTls")
    assert deny["effect"] == "Deny" and deny["condition"][0]["variable"] == "aws:SecureTransport"
    assert {policy["arn"] for policy in resources_of(stack, "aws_sns_topic_policy").values()} == {
        f"${{aws_sns_topic.{logical_id}.arn}}" for logical_id in resources_of(stack, "aws_sns_topic")
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_alarm_notifies_the_topic_on_alarm_and_recovery(env: str, synthesis: Synthesis) -> None:
    stack = _stack(synthesis, env)
    (topic_id,) = [k for k, t in resources_of(stack, "aws_sns_topic").items() if t["name"] == names_for(SPECS[env]).alarm_topic]
    topic = f"${{aws_sns_topic.{topic_id}.arn}}"
    for name, alarm in _alarms(synthesis, env).items():
        assert alarm["alarm_actions"] == [topic] and alarm["ok_actions"] == [topic], name
        assert alarm["actions_enabled"] is True
        assert alarm["treat_missing_data"] in {"missing", "notBreaching", "breaching"}, name
        assert f"Missing data: {alarm['treat_missing_data']} (" in alarm["alarm_description"], (
            f"{name}: no reason for its missing-data choice"
        )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_rds_alarms_use_the_spec_thresholds(env: str, synthesis: Synthesis) -> None:
    spec, alarms = SPECS[env], _alarms(synthesis, env)
    expected = {
        "rds-cpu": ("CPUUtilization", "GreaterThanThreshold", spec.alarms.rds_cpu_percent),
        "rds-free-storage": ("FreeStorageSpace", "LessThanThreshold", spec.alarms.rds_free_storage_gib * GIB),
        "rds-connections": ("DatabaseConnections", "GreaterThanThreshold", spec.alarms.rds_max_connections),
    }
    for name, (metric, comparison, threshold) in expected.items():
        alarm = alarms[name]
        assert (alarm["namespace"], alarm["metric_name"], alarm["comparison_operator"], alarm["threshold"]) == (
            "AWS/RDS",
            metric,
            comparison,
            threshold,
        )
        assert alarm["dimensions"] == {"DBInstanceIdentifier": names_for(spec).database_identifier}
    # No read replica exists, and a Multi-AZ standby publishes no ReplicaLag (docs/observability.md).
    assert not [alarm for alarm in alarms.values() if alarm.get("metric_name") == "ReplicaLag"]
    assert alarms["rds-free-storage"]["treat_missing_data"] == "breaching"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cache_alarms_cover_every_member_node(env: str, synthesis: Synthesis) -> None:
    spec, alarms = SPECS[env], _alarms(synthesis, env)
    nodes = [f"{names_for(spec).cache_replication_group}-{index:03d}" for index in range(1, spec.cache.num_nodes + 1)]
    for metric, prefix, threshold in (
        ("EngineCPUUtilization", "cache-engine-cpu", spec.alarms.cache_cpu_percent),
        ("DatabaseMemoryUsagePercentage", "cache-memory", spec.alarms.cache_memory_percent),
    ):
        watched = sorted(a["dimensions"]["CacheClusterId"] for name, a in alarms.items() if name.startswith(prefix))
        assert watched == nodes
        assert {a["metric_name"] for n, a in alarms.items() if n.startswith(prefix)} == {metric}
        assert {a["threshold"] for n, a in alarms.items() if n.startswith(prefix)} == {threshold}
    evictions = alarms["cache-evictions"]
    queries = {query["id"]: query for query in evictions["metric_query"]}
    assert queries["result"]["expression"] == f"SUM([{', '.join(f'm{i}' for i in range(len(nodes)))}])"
    assert sorted(q["metric"]["dimensions"]["CacheClusterId"] for q in queries.values() if "metric" in q) == nodes
    assert evictions["threshold"] == spec.alarms.cache_evictions_per_5m
    lag = sorted(a["dimensions"]["CacheClusterId"] for n, a in alarms.items() if n.startswith("cache-replication-lag"))
    assert lag == (nodes if spec.cache.num_nodes > 1 else [])


def test_production_watches_three_cache_nodes_and_their_replication(synthesis: Synthesis) -> None:
    assert len([n for n in _alarms(synthesis, "production") if n.startswith("cache-replication-lag")]) == 3
    assert not [n for n in _alarms(synthesis, "development") if n.startswith("cache-replication-lag")]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_nat_gateway_is_watched_through_the_network_stack(env: str, synthesis: Synthesis) -> None:
    network = synthesis.stack(f"{env}-network")
    gateways = resources_of(network, "aws_nat_gateway")
    alarms = _alarms(synthesis, env)
    ports = {n: a for n, a in alarms.items() if n.startswith("nat-port-allocation-")}
    drops = {n: a for n, a in alarms.items() if n.startswith("nat-packets-dropped-")}
    expected = len(SPECS[env].availability_zones) if SPECS[env].network.nat_gateways == "per_az" else 1
    assert len(ports) == len(drops) == len(gateways) == expected
    referenced = set()
    for alarm in ports.values():
        assert alarm["metric_name"] == "ErrorPortAllocation" and alarm["threshold"] == SPECS[env].alarms.nat_port_allocation_errors
        match = re.fullmatch(r"\$\{data\.terraform_remote_state\.[\w-]+\.outputs\.([\w-]+)\}", alarm["dimensions"]["NatGatewayId"])
        assert match, alarm["dimensions"]
        referenced.add(network["output"][match.group(1)]["value"])
    assert referenced == {f"${{aws_nat_gateway.{logical_id}.id}}" for logical_id in gateways}
    for alarm in drops.values():
        assert alarm["threshold"] == SPECS[env].alarms.nat_packet_drop_percent
        metrics = [q["metric"]["metric_name"] for q in alarm["metric_query"] if "metric" in q]
        assert metrics == ["PacketsDropCount", "PacketsInFromSource", "PacketsInFromDestination"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alarm_descriptions_link_an_existing_runbook_section(env: str, synthesis: Synthesis) -> None:
    for name, alarm in _alarms(synthesis, env).items():
        assert len(alarm["alarm_description"]) <= 1024
        match = re.search(r"/docs/runbooks/([\w-]+)\.md#([\w-]+)$", alarm["alarm_description"])
        assert match, f"{name}: no runbook link"
        page = (ROOT / "docs" / "runbooks" / f"{match.group(1)}.md").read_text(encoding="utf-8")
        anchors = {
            re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
            for line in page.splitlines()
            if line.startswith("## ")
        }
        assert match.group(2) in anchors, f"{name}: no section #{match.group(2)} in {match.group(1)}.md"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_notification_emails_are_subscribed(env: str, synthesis: Synthesis) -> None:
    subscriptions = resources_of(_stack(synthesis, env), "aws_sns_topic_subscription").values()
    emails = [s for s in subscriptions if s["protocol"] == "email"]
    assert sorted(s["endpoint"] for s in emails) == sorted(SPECS[env].alarms.notification_emails)
    assert {s["protocol"] for s in subscriptions} <= {"email", "lambda"}, "an http(s) subscription would keep its URL in state"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_consistent_tags_and_state(env: str, synthesis: Synthesis) -> None:
    stack, names = _stack(synthesis, env), names_for(SPECS[env])
    (provider,) = stack["provider"]["aws"]
    assert provider["default_tags"] == [{"tags": names.tags()}]
    assert provider["allowed_account_ids"] == [SPECS[env].aws.account_id]
    for resource_type in ("aws_kms_key", "aws_sns_topic", "aws_cloudwatch_metric_alarm", "aws_lambda_function", "aws_sqs_queue"):
        for logical_id, resource in resources_of(stack, resource_type).items():
            assert resource["tags"]["Name"].startswith(names.prefix), f"{resource_type}.{logical_id}"
    backend = stack["terraform"]["backend"]["s3"]
    assert (backend["bucket"], backend["key"]) == (names.state_bucket, names.state_key("observability"))


@pytest.mark.parametrize(
    ("alarms", "field", "reason"),
    [
        ("notification_emails: [oncall]", "alarms.notification_emails.0", "should match pattern"),
        ("nat_packet_drop_percent: 0", "alarms.nat_packet_drop_percent", "greater than 0"),
        ("certificate_days_to_expiry: 400", "alarms.certificate_days_to_expiry", "less than or equal to 365"),
    ],
)
def test_bad_alarm_settings_are_refused_with_one_clear_error(alarms: str, field: str, reason: str, tmp_path: Path) -> None:
    directory = shutil.copytree(ROOT / "environments", tmp_path / "environments")
    path = directory / "staging.yaml"
    path.write_text(re.sub(r"alarms:\n(  .*\n|    .*\n)*", f"alarms:\n  {alarms}\n", path.read_text()))
    with pytest.raises(SpecError) as error:
        load_environments(directory)
    (problem,) = error.value.problems
    assert problem.field == field and reason in problem.reason, str(problem)
