"""`<env>-edge`: the WAF rules' behaviour, the access-log bucket, the zone and certificate, and the
contracts with the Ingress (charts/ingress.py) and the ExternalDNS add-on (charts/addons.py)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from envspec import SpecError, load_environments, names_for
from envspec.models import Waf
from envspec.naming import EXTERNAL_DNS_RELEASE, LOAD_BALANCER_CONTROLLER_RELEASE
from stacks.edge.waf_rules import BODY_SIZE_LABEL, BODY_SIZE_RULE, greater_than_pattern
from tests.conftest import ENVIRONMENTS, ROOT, SPECS, Synthesis, data_of, only, resources_of

PREFIX = "alb.ingress.kubernetes.io/"


def _stack(synthesis: Synthesis, env: str) -> dict[str, Any]:
    return synthesis.stack(f"{env}-edge")


def _rules(synthesis: Synthesis, env: str) -> dict[str, dict[str, Any]]:
    acl = only(resources_of(_stack(synthesis, env), "aws_wafv2_web_acl"))
    return {rule["Name"]: rule for rule in json.loads(acl["rule_json"])}


def _annotations(synthesis: Synthesis, env: str) -> dict[str, str]:
    (ingress,) = synthesis.find(env, "Ingress")
    return ingress["metadata"]["annotations"]


def _attributes(synthesis: Synthesis, env: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in _annotations(synthesis, env)[PREFIX + "load-balancer-attributes"].split(","))


def _starts_with(statement: dict[str, Any]) -> str:
    match = statement["ByteMatchStatement"]
    assert match["FieldToMatch"] == {"UriPath": {}} and match["PositionalConstraint"] == "STARTS_WITH"
    return match["SearchString"]


# --- WAF -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_acl_runs_the_managed_rule_groups_the_service_needs(env: str, synthesis: Synthesis) -> None:
    rules = _rules(synthesis, env)
    managed = {
        name: rule["Statement"]["ManagedRuleGroupStatement"]
        for name, rule in rules.items()
        if "ManagedRuleGroupStatement" in rule["Statement"]
    }
    assert set(managed) == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesSQLiRuleSet",
    }
    assert all(group["VendorName"] == "AWS" for group in managed.values())
    # The SQL-database rule set guards the API only.
    assert _starts_with(managed["AWSManagedRulesSQLiRuleSet"]["ScopeDownStatement"]) == "/api"
    for name in managed:
        assert rules[name]["OverrideAction"] == ({"Count": {}} if SPECS[env].edge.waf.count_only else {"None": {}})
    assert len({rule["Priority"] for rule in rules.values()}) == len(rules)
    assert all(rule["VisibilityConfig"]["CloudWatchMetricsEnabled"] for rule in rules.values())


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_rate_limits_per_client_ip_come_from_the_spec(env: str, synthesis: Synthesis) -> None:
    waf = SPECS[env].edge.waf
    rules = _rules(synthesis, env)
    overall = rules["rate-limit-per-ip"]["Statement"]["RateBasedStatement"]
    api = rules["api-rate-limit-per-ip"]["Statement"]["RateBasedStatement"]
    assert (overall["Limit"], overall["AggregateKeyType"], overall["EvaluationWindowSec"]) == (waf.rate_limit_per_5m, "IP", 300)
    assert (api["Limit"], api["AggregateKeyType"]) == (waf.api_rate_limit_per_5m, "IP")
    assert _starts_with(api["ScopeDownStatement"]) == "/api"
    assert "ScopeDownStatement" not in overall
    # Rate limits first: a flood is cut before the managed groups spend capacity on it.
    assert max(rules[n]["Priority"] for n in ("rate-limit-per-ip", "api-rate-limit-per-ip")) < min(
        rule["Priority"] for rule in rules.values() if "ManagedRuleGroupStatement" in rule["Statement"]
    )
    assert rules["rate-limit-per-ip"]["Action"] == ({"Count": {}} if waf.count_only else {"Block": {}})


def _body_size_verdict(rules: dict[str, dict[str, Any]], path: str, body_bytes: int) -> str:
    """Evaluate the ACL the way WAF does for a request whose body is `body_bytes` long, as far as the
    common rule set's body-size rule and our rules concern it: rules run in priority order; a managed
    rule overridden to Count only adds its label; a later label-match rule sees labels of earlier
    rules only (AWS WAF developer guide, "Label matching rule statement"; "Action overrides in rule
    groups"). `SizeRestrictions_BODY` labels bodies over 8 KB (core rule set, "Baseline rule groups")."""
    labels: set[str] = set()
    for rule in sorted(rules.values(), key=lambda item: item["Priority"]):
        statement = rule["Statement"]
        group = statement.get("ManagedRuleGroupStatement")
        if group and group["Name"] == "AWSManagedRulesCommonRuleSet" and body_bytes > 8192:
            overrides = {item["Name"]: item["ActionToUse"] for item in group.get("RuleActionOverrides", [])}
            labels.add(BODY_SIZE_LABEL)
            if overrides.get(BODY_SIZE_RULE) != {"Count": {}} and rule["OverrideAction"] == {"None": {}}:
                return "blocked by the common rule set"
        if "AndStatement" in statement:
            label, negated = statement["AndStatement"]["Statements"]
            inside = negated["NotStatement"]["Statement"]
            prefixes = [_starts_with(s) for s in inside["OrStatement"]["Statements"]] if "OrStatement" in inside else [_starts_with(inside)]
            if label["LabelMatchStatement"]["Key"] in labels and not any(path.startswith(p) for p in prefixes):
                return "blocked" if rule["Action"] == {"Block": {}} else "counted"
    return "allowed"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_document_uploads_pass_and_large_bodies_elsewhere_are_blocked(env: str, synthesis: Synthesis) -> None:
    """WAF inspects only the first 8 KB of a body behind an ALB, and the common rule set blocks any
    body over 8 KB (AWS WAF developer guide, "Inspecting the request body"; re:Post knowledge center,
    "How does AWS WAF handle body inspections for HTTP requests"): without the override, every
    document upload would be refused."""
    waf = SPECS[env].edge.waf
    rules = _rules(synthesis, env)
    upload = waf.upload_path_prefixes[0] + "/new"
    assert _body_size_verdict(rules, upload, 5 * 1024 * 1024) == "allowed"
    assert _body_size_verdict(rules, "/api/applications", 5 * 1024 * 1024) == ("counted" if waf.count_only else "blocked")
    assert _body_size_verdict(rules, "/api/applications", 2048) == "allowed"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_declared_bodies_over_the_upload_limit_are_blocked(env: str, synthesis: Synthesis) -> None:
    """The ceiling is checked on `Content-Length` (WAF sees headers up to 8 KB, never a body past
    8 KB): the regular expression matches exactly the numbers above the spec's limit."""
    limit = SPECS[env].edge.waf.max_upload_mib * 1024 * 1024
    rule = _rules(synthesis, env)["declared-body-over-upload-limit"]
    regex = rule["Statement"]["RegexMatchStatement"]
    assert regex["FieldToMatch"] == {"SingleHeader": {"Name": "content-length"}}
    pattern = re.compile(regex["RegexString"])
    for value in (0, 1, 8192, limit - 1, limit):
        assert not pattern.search(str(value)), value
    for value in (limit + 1, limit + 1000, limit * 10, 10**12):
        assert pattern.search(str(value)), value
    assert len(regex["RegexString"]) <= 200  # AWS WAF's limit on a regex string


@pytest.mark.parametrize("limit", [0, 7, 9, 99, 100, 8192, 20971520, 123456789])
def test_the_greater_than_pattern_is_exact(limit: int) -> None:
    pattern = re.compile(greater_than_pattern(limit))
    for value in [*range(max(0, limit - 1200), limit + 1200), limit * 10, 10 ** len(str(limit))]:
        assert bool(pattern.match(str(value))) is (value > limit), value
        assert bool(pattern.match(f"00{value}")) is (value > limit), value


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_waf_logs_are_encrypted_and_redact_credentials(env: str, synthesis: Synthesis) -> None:
    """WAF delivers to CloudWatch Logs only into groups named `aws-waf-logs-...` (AWS WAF developer
    guide, "Sending web ACL traffic logs to an Amazon CloudWatch Logs log group")."""
    stack = _stack(synthesis, env)
    group = only(resources_of(stack, "aws_cloudwatch_log_group"))
    assert group["name"].startswith("aws-waf-logs-") and group["name"] == names_for(SPECS[env]).waf_log_group
    assert group["kms_key_id"].startswith("${aws_kms_key.")
    assert group["retention_in_days"] == SPECS[env].edge.waf_log_retention_days
    logging = only(resources_of(stack, "aws_wafv2_web_acl_logging_configuration"))
    assert {field["single_header"]["name"] for field in logging["redacted_fields"]} == {"authorization", "cookie"}
    assert logging["log_destination_configs"] == [
        f"${{aws_cloudwatch_log_group.{next(iter(resources_of(stack, 'aws_cloudwatch_log_group')))}.arn}}"
    ]


# --- Contracts with the Ingress ------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_ingress_names_the_acl_the_edge_stack_creates(env: str, synthesis: Synthesis) -> None:
    """At the pinned controller, kubernetes-sigs/aws-load-balancer-controller tag v3.4.2 (chart 3.4.2),
    `wafv2-acl-name` is read from the Ingress (pkg/ingress/model_build_load_balancer_addons.go) and
    resolved with wafv2:ListWebACLs, Scope REGIONAL, by exact name (pkg/ingress/model_builder.go,
    `webACLNameToArnMapper.getArnByName`); so the annotation names exactly the edge stack's ACL and the
    controller's role may list. `wafv2-acl-arn` exists at that tag too, but the ARN ends in an id WAF
    generates, which no spec can know before the apply (tests/test_ingress_annotations.py)."""
    acl = only(resources_of(_stack(synthesis, env), "aws_wafv2_web_acl"))
    annotations = _annotations(synthesis, env)
    assert annotations[PREFIX + "wafv2-acl-name"] == acl["name"] and acl["scope"] == "REGIONAL"
    assert PREFIX + "wafv2-acl-arn" not in annotations
    cluster = synthesis.stack(f"{env}-cluster")
    actions = {a for document in data_of(cluster, "aws_iam_policy_document").values() for s in document["statement"] for a in s["actions"]}
    assert {"wafv2:ListWebACLs", "wafv2:AssociateWebACL", "wafv2:GetWebACLForResource"} <= actions


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_ingress_hosts_are_exactly_the_certificate_s_names(env: str, synthesis: Synthesis) -> None:
    """Without `certificate-arn`, the controller discovers ACM certificates for the hosts of the
    Ingress's rules and `tls` (docs/guide/ingress/cert_discovery.md at tag v3.4.2): ISSUED certificates
    whose SANs equal a host or match it as a one-label wildcard, and no certificate for a host fails the
    Ingress (pkg/certs/cert_discovery.go at v3.4.2). The edge stack's certificate must cover every rule
    host."""
    (ingress,) = synthesis.find(env, "Ingress")
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    certificate = only(resources_of(_stack(synthesis, env), "aws_acm_certificate"))
    assert {certificate["domain_name"], *certificate["subject_alternative_names"]} == hosts
    assert certificate["validation_method"] == "DNS"
    assert PREFIX + "certificate-arn" not in ingress["metadata"]["annotations"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_access_logs_go_to_the_bucket_the_load_balancer_may_write(env: str, synthesis: Synthesis) -> None:
    """ELB user guide, "Enable access logs for your Application Load Balancer": SSE-S3 only, and in
    Regions available before August 2022 (ap-northeast-1) the Region's ELB account (582318560864)
    writes `<prefix>/AWSLogs/<account>/*`. The controller at tag v3.4.2 passes the Ingress's
    `load-balancer-attributes` to ELB unchanged (pkg/ingress/model_build_load_balancer_attributes.go),
    so the bucket the attributes name is the one the stack creates."""
    names, stack = names_for(SPECS[env]), _stack(synthesis, env)
    attributes = _attributes(synthesis, env)
    assert attributes["access_logs.s3.enabled"] == "true"
    bucket_name, prefix = attributes["access_logs.s3.bucket"], attributes["access_logs.s3.prefix"]
    assert [b["bucket"] for b in resources_of(stack, "aws_s3_bucket").values()] == [bucket_name]
    assert bucket_name == names.alb_access_log_bucket
    (encryption,) = resources_of(stack, "aws_s3_bucket_server_side_encryption_configuration").values()
    assert encryption["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"] == "AES256"
    (statement,) = [
        s
        for d in data_of(stack, "aws_iam_policy_document").values()
        for s in d["statement"]
        if s.get("sid") == "LoadBalancerDeliversAccessLogs"
    ]
    assert statement["principals"] == [{"type": "AWS", "identifiers": ["arn:aws:iam::582318560864:root"]}]
    assert statement["resources"] == [f"arn:aws:s3:::{bucket_name}/{prefix}/AWSLogs/{names.account}/*"]
    lifecycle = only(resources_of(stack, "aws_s3_bucket_lifecycle_configuration"))
    assert lifecycle["rule"][0]["expiration"][0]["days"] == SPECS[env].edge.access_log_retention_days


# --- Zone, certificate, ExternalDNS --------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_certificate_is_validated_by_records_in_the_zone(env: str, synthesis: Synthesis) -> None:
    stack = _stack(synthesis, env)
    (zone_id,) = resources_of(stack, "aws_route53_zone")
    assert only(resources_of(stack, "aws_route53_zone"))["name"] == SPECS[env].dns.zone_name
    (certificate_id,) = resources_of(stack, "aws_acm_certificate")
    ((record_id, record),) = resources_of(stack, "aws_route53_record").items()
    assert record["zone_id"] == f"${{aws_route53_zone.{zone_id}.zone_id}}"
    # Keys known at plan time (the hosts); a for_each keyed by the validation options themselves cannot
    # be planned for a new certificate ("Invalid for_each argument": found by the emulator plan).
    hosts = list(names_for(SPECS[env]).ingress_hosts)  # with a standby also the origin host (stacks/edge/failover.py)
    assert hosts[:2] == [SPECS[env].dns.frontend_host, SPECS[env].dns.api_host]
    assert record["for_each"] == "${toset([" + ", ".join(f'"{host}"' for host in hosts) + "])}"
    assert f"aws_acm_certificate.{certificate_id}.domain_validation_options" in record["name"]
    validation = only(resources_of(stack, "aws_acm_certificate_validation"))
    assert validation["certificate_arn"] == f"${{aws_acm_certificate.{certificate_id}.arn}}"
    assert validation["validation_record_fqdns"] == f"${{[for record in aws_route53_record.{record_id} : record.fqdn]}}"
    # The expiry alarm watches the issued certificate (moved here from the observability stack).
    (validation_id,) = resources_of(stack, "aws_acm_certificate_validation")
    alarm = only(resources_of(stack, "aws_cloudwatch_metric_alarm"))
    assert alarm["dimensions"] == {"CertificateArn": f"${{aws_acm_certificate_validation.{validation_id}.certificate_arn}}"}
    assert alarm["threshold"] == SPECS[env].alarms.certificate_days_to_expiry
    assert alarm["alarm_name"] == names_for(SPECS[env]).alarm_name("certificate-expiry")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_external_dns_can_change_only_its_zone(env: str, synthesis: Synthesis) -> None:
    """ExternalDNS AWS tutorial (kubernetes-sigs/external-dns docs/tutorials/aws.md): it needs
    ChangeResourceRecordSets on the zone and the List calls; nothing else may write DNS."""
    stack = _stack(synthesis, env)
    (zone_id,) = resources_of(stack, "aws_route53_zone")
    names = names_for(SPECS[env])
    role = next(r for r in resources_of(stack, "aws_iam_role").values() if r["name"] == f"{names.prefix}-external-dns")
    assert "pods.eks.amazonaws.com" in json.dumps(data_of(stack, "aws_iam_policy_document"))
    association = only(resources_of(stack, "aws_eks_pod_identity_association"))
    account = names.external_dns_service_account
    assert (association["namespace"], association["service_account"]) == (account.namespace, account.name)
    assert role["name"] in json.dumps(resources_of(stack, "aws_iam_role_policy"))
    permissions = [
        s for d in data_of(stack, "aws_iam_policy_document").values() for s in d["statement"]
        if any(action.startswith("route53:") for action in s["actions"])
    ]  # fmt: skip
    scoped = {(action, resource) for s in permissions for action in s["actions"] for resource in s["resources"]}
    zone = f"${{aws_route53_zone.{zone_id}.arn}}"
    assert scoped == {
        ("route53:ChangeResourceRecordSets", zone),
        ("route53:ListResourceRecordSets", zone),
        ("route53:ListTagsForResources", zone),
        ("route53:ListHostedZones", "*"),  # takes no resource
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_external_dns_values_own_the_cluster_s_records_in_the_zone(env: str, synthesis: Synthesis) -> None:
    """Chart external-dns 1.21.1 values.yaml: `policy`, `txtOwnerId`, `domainFilters`, `sources`."""
    spec = SPECS[env]
    documents = yaml.safe_load_all((synthesis.kubernetes_dir / env / "gitops.k8s.yaml").read_text(encoding="utf-8"))
    applications = {d["metadata"]["name"]: d for d in documents if d and d["kind"] == "Application"}
    values = applications[EXTERNAL_DNS_RELEASE]["spec"]["source"]["helm"]["valuesObject"]
    assert values["txtOwnerId"] == names_for(spec).cluster_name
    assert values["policy"] == ("upsert-only" if spec.is_production else "sync")
    assert values["domainFilters"] == [spec.dns.zone_name] and values["sources"] == ["ingress"]
    assert values["serviceAccount"]["name"] == names_for(spec).external_dns_service_account.name
    assert LOAD_BALANCER_CONTROLLER_RELEASE in applications


# --- Spec errors ---------------------------------------------------------------------------------


def _bad(tmp_path: Path, old: str, new: str) -> str:
    directory = tmp_path / "environments"
    shutil.copytree(ROOT / "environments", directory)
    path = directory / "staging.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(SpecError) as error:
        load_environments(directory)
    (problem,) = error.value.problems
    return str(problem)


@pytest.mark.parametrize("field", ["rate_limit_per_5m", "api_rate_limit_per_5m"])
def test_a_rate_limit_of_zero_is_refused(tmp_path: Path, field: str) -> None:
    """AWS WAF developer guide, "Rate-based rule statement": the limit is 10 to 2,000,000,000."""
    message = _bad(tmp_path, "ci:\n", f"edge:\n  waf: {{{field}: 0}}\nci:\n")
    assert re.search(rf"staging\.yaml:\d+: edge\.waf\.{field}: .*greater than or equal to 10 \(got 0\)", message), message


def test_hosts_outside_the_zone_are_refused(tmp_path: Path) -> None:
    """The error names the field that is wrong (`dns.zone_name`) on its own line, not the `dns` block."""
    text = (ROOT / "environments" / "staging.yaml").read_text(encoding="utf-8")
    line = text.splitlines().index("  zone_name: staging.ai-subsidy.example.jp") + 1
    message = _bad(tmp_path, "zone_name: staging.ai-subsidy.example.jp", "zone_name: other.example.jp")
    assert f"staging.yaml:{line}: dns.zone_name: " in message and "not inside zone_name other.example.jp" in message, message


def test_an_upload_limit_beyond_the_spec_bound_is_refused(tmp_path: Path) -> None:
    message = _bad(tmp_path, "ci:\n", "edge:\n  waf: {max_upload_mib: 4096}\nci:\n")
    assert re.search(r"staging\.yaml:\d+: edge\.waf\.max_upload_mib: .*less than or equal to 1024 \(got 4096\)", message), message


def test_the_largest_upload_limit_fits_the_waf_rule() -> None:
    """The ceiling is a RegexMatchStatement on Content-Length, and WAF accepts a RegexString of at most
    512 characters (AWS WAF API Reference, "RegexMatchStatement"): every limit the spec admits fits."""
    bound = next(m.le for m in Waf.model_fields["max_upload_mib"].metadata if hasattr(m, "le"))
    for mib in (1, 20, bound):
        assert len(greater_than_pattern(mib * 1024 * 1024)) <= 512, mib
