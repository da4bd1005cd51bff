"""The log agent as it will run: its configuration read by Fluent Bit's rules, a Node.js stack trace
joined into one event, credentials removed by the real Lua engine, every record written to a log
group the cluster stack creates (KMS, retention) and that the agent's role can write, and nothing
else it can write.

The configuration is taken from the synthesized Argo CD Application and rendered into the files the
chart builds from it (aws/eks-charts stable/aws-for-fluent-bit templates/configmap.yaml at chart
0.2.0, commit 2942cdce): `[SERVICE]` with `service.extraService` indented and one `Parsers_File` per
`service.parsersFiles` (and `/fluent-bit/etc/parser_extra.conf` when `service.extraParsers` is set),
then `additionalInputs`, `additionalFilters`, `additionalOutputs` as they are.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from charts.log_agent import MAX_LINE, REDACTED_FIELDS
from envspec import names_for
from envspec.naming import CONTAINER_LOG_PURPOSES, LOG_AGENT_NAMESPACE, LOG_AGENT_RELEASE
from stacks.cluster.container_logs import AGENT_ACTIONS, log_group_arn
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis, ref, require_binary, resources_of
from tests.fluent_bit import Section, cri_records, join_multiline, parse, rules_of, unknown_properties
from tests.iam_policy import Request, StackIam, is_allowed, kms_is_allowed
from tests.lua_filter import run_filter

BUILTIN_MULTILINE = {"docker", "cri", "go", "python", "java", "ruby"}
EXTRA_PARSERS_FILE = "/fluent-bit/etc/parser_extra.conf"


def _values(synthesis: Synthesis, env: str) -> dict[str, Any]:
    (application,) = synthesis.find(env, "Application", LOG_AGENT_RELEASE)
    return application["spec"]["source"]["helm"]["valuesObject"]


def chart_files(values: dict[str, Any]) -> tuple[str, str]:
    """fluent-bit.conf and parser_extra.conf as templates/configmap.yaml renders them."""
    assert not values["input"]["enabled"] and not values["filter"]["enabled"] and not values["cloudWatchLogs"]["enabled"]
    for other in ("cloudWatch", "firehose", "kinesis", "kinesis_streams", "elasticsearch", "s3", "opensearch"):
        assert not values.get(other, {}).get("enabled", False), other  # chart defaults: off
    service = values["service"]
    lines = ["[SERVICE]", *(f"    {line}" for line in service["extraService"].splitlines())]
    lines += [f"    Parsers_File {path}" for path in service["parsersFiles"]]
    if service.get("extraParsers"):
        lines.append(f"    Parsers_File {EXTRA_PARSERS_FILE}")
    for key in ("additionalInputs", "additionalFilters", "additionalOutputs"):
        lines += values[key].splitlines()
    return "\n".join(lines), service.get("extraParsers", "")


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def agent(request: pytest.FixtureRequest, synthesis: Synthesis) -> dict[str, Any]:
    env = request.param
    conf, parsers = chart_files(_values(synthesis, env))
    return {"env": env, "sections": parse(conf), "parsers": parse(parsers), "values": _values(synthesis, env)}


def _of(sections: list[Section], kind: str, plugin: str | None = None) -> list[Section]:
    return [s for s in sections if s.name == kind and (plugin is None or (s.get("Name") or "").lower() == plugin)]


def test_the_configuration_reads_as_fluent_bit_reads_it(agent: dict[str, Any]) -> None:
    sections, parsers = agent["sections"], agent["parsers"]
    assert sections[0].name == "SERVICE" and {s.name for s in sections} == {"SERVICE", "INPUT", "FILTER", "OUTPUT"}
    for section in [*sections, *parsers]:
        assert not unknown_properties(section), (section.name, section.get("Name"), unknown_properties(section))
    assert {s.name for s in parsers} == {"MULTILINE_PARSER"}
    defined = {parser.get("name") for parser in parsers}
    for section in _of(sections, "INPUT", "tail") + _of(sections, "FILTER", "multiline"):
        for name in section.get("multiline.parser").split(","):
            assert name.strip() in BUILTIN_MULTILINE | defined, name
    for parser in parsers:
        assert parser.get("type") == "regex" and rules_of(parser)
    service = sections[0]
    assert service.get("HTTP_Server") == "On" and service.get("HTTP_Port") == "2020"
    assert EXTRA_PARSERS_FILE in service.all("Parsers_File")


def test_the_inline_lua_fits_one_config_line(agent: dict[str, Any]) -> None:
    """The lua filter's `code` is one line of the classic format, under its 4,096-byte buffer."""
    (lua,) = _of(agent["sections"], "FILTER", "lua")
    assert 0 < len(f"    code  {lua.get('code')}".encode()) < MAX_LINE
    assert "${" not in lua.get("code")  # the classic format would substitute an environment variable


def test_every_record_goes_to_exactly_one_log_group(agent: dict[str, Any]) -> None:
    """Fluent Bit routes a record to every output whose Match (a wildcard) matches its tag."""
    outputs = _of(agent["sections"], "OUTPUT")
    tags = [section.get("Tag").replace("*", "var.log.containers.x.log") for section in _of(agent["sections"], "INPUT")]
    for tag in tags:
        assert len([o for o in outputs if fnmatch.fnmatchcase(tag, o.get("Match"))]) == 1, tag
    assert sorted(o.get("Alias") for o in outputs) == sorted(CONTAINER_LOG_PURPOSES)


def test_outputs_write_only_to_the_groups_the_cluster_stack_creates(agent: dict[str, Any], synthesis: Synthesis) -> None:
    """The contract between chart and stack: each group exists, KMS-encrypted with the cluster key, with the
    spec's retention; the agent neither creates a group nor sets a retention (cloudwatch_logs.c: both only
    on `auto_create_group` / `log_retention_days`)."""
    env = agent["env"]
    spec, names = SPECS[env], names_for(SPECS[env])
    stack = synthesis.stack(f"{env}-cluster")
    groups = {group["name"]: group for group in resources_of(stack, "aws_cloudwatch_log_group").values()}
    keys = set(resources_of(stack, "aws_kms_key"))
    for output in _of(agent["sections"], "OUTPUT", "cloudwatch_logs"):
        purpose = output.get("Alias")
        name = output.get("log_group_name")
        assert name == names.container_log_group(purpose)
        assert name in groups, f"{name}: no such log group in {env}-cluster"
        assert groups[name]["kms_key_id"].startswith("${aws_kms_key.") and ref(groups[name]["kms_key_id"]) in keys
        assert groups[name]["retention_in_days"] == spec.container_logs.retention_days(purpose)
        assert output.get("auto_create_group") == "false"
        assert output.get("log_retention_days") is None and output.get("log_group_template") is None
        assert output.get("region") == spec.aws.region


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_agent_role_can_write_only_its_groups(env: str, synthesis: Synthesis) -> None:
    spec = SPECS[env]
    names = names_for(spec)
    account = names.log_agent_service_account
    assert (account.namespace, account.name) == (LOG_AGENT_NAMESPACE, "fluent-bit")
    stack = synthesis.stack(f"{env}-cluster")
    (association,) = [
        a
        for a in resources_of(stack, "aws_eks_pod_identity_association").values()
        if (a["namespace"], a["service_account"]) == (account.namespace, account.name)
    ]
    role = StackIam(stack, account=names.account, region=spec.aws.region).roles()[f"{names.prefix}-log-agent"]
    assert ref(association["role_arn"]) == next(k for k, v in resources_of(stack, "aws_iam_role").items() if v["name"] == role.name)
    assert not role.managed_policy_arns
    assert {action for statement in role.inline for action in statement.actions} == set(AGENT_ACTIONS)

    def can(action: str, resource: str) -> bool:
        return is_allowed(Request(action, resource, role.arn), role.inline)

    for purpose in CONTAINER_LOG_PURPOSES:
        group = log_group_arn(names, names.container_log_group(purpose))
        assert can("logs:CreateLogStream", group)
        assert can("logs:PutLogEvents", f"{group}:log-stream:ip-10-0-1-5.ap-northeast-1.compute.internal-kube.x")
        for action in ("logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DeleteLogGroup", "logs:DeleteLogStream"):
            assert not can(action, group), action
    for other in (f"/aws/eks/{names.cluster_name}/cluster", f"/aws/containerinsights/{names.cluster_name}/performance", "/aws/lambda/x"):
        assert not can("logs:PutLogEvents", f"{log_group_arn(names, other)}:log-stream:s")
        assert not can("logs:CreateLogStream", log_group_arn(names, other))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cloudwatch_logs_can_use_the_key_for_these_groups_only(env: str, synthesis: Synthesis) -> None:
    """CloudWatch Logs encrypts a group's events with its KMS key under the encryption context
    `aws:logs:arn` = the group's ARN (CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs
    using AWS KMS"): the cluster key's policy must admit the service for each container group."""
    spec = SPECS[env]
    names = names_for(spec)
    iam = StackIam(synthesis.stack(f"{env}-cluster"), account=names.account, region=spec.aws.region)
    key_arn, key_policy = iam.key_policy_by_alias(names.kms_alias("cluster"))
    service = f"service:logs.{spec.aws.region}.amazonaws.com"
    for purpose in CONTAINER_LOG_PURPOSES:
        context = {"kms:EncryptionContext:aws:logs:arn": log_group_arn(names, names.container_log_group(purpose))}
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            assert kms_is_allowed(Request(action, key_arn, service, context), key_policy), (purpose, action)
    elsewhere = "999999999999" if names.account != "999999999999" else "888888888888"
    other = {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{spec.aws.region}:{elsewhere}:log-group:x"}
    assert not kms_is_allowed(Request("kms:Decrypt", key_arn, service, other), key_policy)


# A backend pod's stderr as containerd writes it (CRI: time, stream, P/F flag, text): a JSON line, a
# thrown error with its stack (its first line split by the runtime into a P and an F part), the
# error object's properties and closing brace as Node prints them, then a line of its own.
NODE_STACK = [
    '2026-12-01T10:00:00.000000001Z stdout F {"level":30,"msg":"listening","port":3000}',
    "2026-12-01T10:00:01.000000001Z stderr P TypeError: Cannot read properties of undefined ",
    "2026-12-01T10:00:01.000000002Z stderr F (reading 'amount')",
    "2026-12-01T10:00:01.000000003Z stderr F     at calculateSubsidy (/app/dist/subsidy.js:42:17)",
    "2026-12-01T10:00:01.000000004Z stderr F     at async Router.handle (/app/node_modules/express/lib/router/index.js:284:7) {",
    "2026-12-01T10:00:01.000000005Z stderr F   code: 'ERR_SUBSIDY'",
    "2026-12-01T10:00:01.000000006Z stderr F }",
    "2026-12-01T10:00:02.000000001Z stderr F FATAL: shutting down after uncaught error",
]


def _events(agent: dict[str, Any], lines: list[str]) -> list[dict[str, str]]:
    (parser,) = agent["parsers"]
    rules = rules_of(parser)
    records = cri_records(lines)
    by_stream: dict[str, list[dict[str, str]]] = {}
    for record in records:
        by_stream.setdefault(record["stream"], []).append(record)
    return [event for stream in by_stream.values() for event in join_multiline(rules, stream)]


def test_a_node_js_stack_trace_is_one_event(agent: dict[str, Any]) -> None:
    (tail,) = [s for s in _of(agent["sections"], "INPUT", "tail") if s.get("Tag") == "kube.*"]
    assert tail.get("multiline.parser") == "cri"
    (multiline,) = _of(agent["sections"], "FILTER", "multiline")
    assert multiline.get("multiline.key_content") == "log"
    assert agent["sections"].index(multiline) < agent["sections"].index(_of(agent["sections"], "FILTER", "kubernetes")[0])
    events = [event["log"] for event in _events(agent, NODE_STACK)]
    assert events == [
        '{"level":30,"msg":"listening","port":3000}',
        "TypeError: Cannot read properties of undefined (reading 'amount')\n"
        "    at calculateSubsidy (/app/dist/subsidy.js:42:17)\n"
        "    at async Router.handle (/app/node_modules/express/lib/router/index.js:284:7) {\n"
        "  code: 'ERR_SUBSIDY'\n"
        "}",
        "FATAL: shutting down after uncaught error",
    ]


@pytest.fixture(scope="module")
def luajit() -> str:
    return require_binary("luajit", "install Debian's `luajit` package (.ci/run does)")


SECRET = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig"  # a made-up token: the test looks for it in the output


def test_credentials_never_leave_the_node(agent: dict[str, Any], luajit: str) -> None:
    """The lua filter as Fluent Bit runs it, in LuaJIT: header fields dropped at any depth and in any
    case, header values in text redacted, every other record returned untouched (code 0)."""
    (lua,) = _of(agent["sections"], "FILTER", "lua")
    assert lua.get("Match") == "kube.*"
    merged = {
        "kubernetes": {"namespace_name": "ai-subsidy", "labels": {"app": "ai-subsidy-backend"}},
        "log_processed": {
            "msg": "request completed",
            "req": {
                "method": "GET",
                "url": "/api/applications",
                "headers": {"Authorization": f"Bearer {SECRET}", "Cookie": f"sid={SECRET}", "accept": "json"},
            },
            "res": {"statusCode": 200, "headers": {"set-cookie": [f"sid={SECRET}; HttpOnly"]}},
            "PROXY-AUTHORIZATION": f"Basic {SECRET}",
        },
    }
    text = {"log": f"GET /api/x Authorization: Bearer {SECRET}\ncookie={SECRET}; theme=dark", "stream": "stderr"}
    quoted = {"log": f'upstream said {{"authorization":"Bearer {SECRET}","status":401}}'}
    plain = {"log": "Authorization header missing on /api/x", "kubernetes": {"pod_name": "p"}}
    results = run_filter(luajit, lua.get("code"), lua.get("call"), [merged, text, quoted, plain])
    (code_merged, out_merged), (code_text, out_text), (code_quoted, out_quoted), (code_plain, out_plain) = results
    assert code_merged == code_text == code_quoted == 2
    assert SECRET not in repr([out_merged, out_text, out_quoted])
    assert out_merged["log_processed"]["req"]["headers"] == {"accept": "json"}
    assert out_merged["log_processed"]["res"] == {"statusCode": 200, "headers": {}}
    assert "PROXY-AUTHORIZATION" not in out_merged["log_processed"] and out_merged["log_processed"]["msg"] == "request completed"
    assert out_text["log"] == "GET /api/x Authorization: [REDACTED]\ncookie=[REDACTED]"
    assert out_quoted["log"] == 'upstream said {"authorization":"[REDACTED]","status":401}'
    assert (code_plain, out_plain) == (0, plain)
    assert set(REDACTED_FIELDS) == {"authorization", "proxy-authorization", "cookie", "set-cookie"}


def test_the_daemonset_runs_on_every_node_and_is_not_evicted_first(agent: dict[str, Any]) -> None:
    """Tolerating every taint (`operator: Exists` with no key matches all: Kubernetes "Taints and
    Tolerations") covers the system nodes' CriticalAddonsOnly, Karpenter's and the node lifecycle taints;
    `system-node-critical` is the built-in class above every workload (2,000,001,000)."""
    values = agent["values"]
    assert values["tolerations"] == [{"operator": "Exists"}]
    assert "nodeSelector" not in values and "affinity" not in values
    assert values["priorityClassName"] == "system-node-critical"
    resources = values["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    mounts = {mount["mountPath"]: mount for mount in values["volumeMounts"]}
    assert mounts["/var/log"]["readOnly"] and mounts["/etc/machine-id"]["readOnly"]
    assert values["containerSecurityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_agent_s_namespace_admits_host_paths(env: str, synthesis: Synthesis) -> None:
    """The baseline Pod Security level forbids hostPath volumes (Kubernetes "Pod Security Standards"): the
    namespace Argo CD creates for the release is privileged, and no default-deny policy applies there."""
    (application,) = synthesis.find(env, "Application", LOG_AGENT_RELEASE)
    assert application["spec"]["destination"]["namespace"] == LOG_AGENT_NAMESPACE
    labels = application["spec"]["syncPolicy"]["managedNamespaceMetadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    assert "CreateNamespace=true" in application["spec"]["syncPolicy"]["syncOptions"]
    policies = [doc for doc in synthesis.manifests(env) if doc["kind"] == "NetworkPolicy"]
    assert all(doc["metadata"].get("namespace") != LOG_AGENT_NAMESPACE for doc in policies)
