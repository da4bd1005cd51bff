"""The log-based alarms read the records the log agent really writes: the synthesized metric filter
patterns, evaluated by tests/cloudwatch_filter.py, against events made by replaying the agent's own
configuration on sample lines (CRI lines of a pod; journal entries of a node).

Replayed steps, each from the rendered configuration: the `cri` and `nodejs_stack` multiline parsers
(tests/fluent_bit.py); the kubernetes filter's Merge_Log with Keep_Log Off (Fluent Bit manual,
"Kubernetes" filter: a `log` that is a JSON map is parsed under Merge_Log_Key and, with Keep_Log Off,
the original `log` removed) and its metadata under `kubernetes`; for the journal, the modify filter's
renames followed by `Remove_regex` (every remaining key matching it is removed). The cloudwatch_logs
output sends each record as one JSON event (no `log_key`).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from envspec import names_for
from envspec.naming import APP_NAMESPACE
from envspec.topology import BACKEND, FRONTEND
from stacks.observability.log_signals import LOG_SIGNALS, RUNBOOK, SAVED_QUERIES
from tests.cloudwatch_filter import matches
from tests.conftest import ENVIRONMENTS, ROOT, SPECS, Synthesis, resources_of
from tests.fluent_bit import Section, cri_records, join_multiline, parse, rules_of
from tests.test_log_agent import _values, chart_files

ENV = "staging"
NODE = "ip-10-0-1-5.ap-northeast-1.compute.internal"


@pytest.fixture(scope="module")
def config(synthesis: Synthesis) -> tuple[list[Section], list[Section]]:
    conf, parsers = chart_files(_values(synthesis, ENV))
    return parse(conf), parse(parsers)


@pytest.fixture(scope="module")
def patterns(synthesis: Synthesis) -> dict[str, dict[str, Any]]:
    stack = synthesis.stack(f"{ENV}-observability")
    return {body["name"]: body for body in resources_of(stack, "aws_cloudwatch_log_metric_filter").values()}


def _filter(sections: list[Section], plugin: str, match: str) -> Section:
    (found,) = [s for s in sections if s.name == "FILTER" and s.get("Name") == plugin and s.get("Match") == match]
    return found


def pod_events(config: tuple[list[Section], list[Section]], component: str, lines: list[str]) -> list[dict[str, Any]]:
    sections, parsers = config
    kubernetes = _filter(sections, "kubernetes", "kube.*")
    merged_key = kubernetes.get("Merge_Log_Key")
    assert kubernetes.get("Merge_Log") == "On" and kubernetes.get("Keep_Log") == "Off"
    records = join_multiline(
        rules_of(parsers[0]), cri_records([f"2026-12-01T10:00:0{i}.000000001Z stderr F {line}" for i, line in enumerate(lines)])
    )
    events = []
    for record in records:
        event: dict[str, Any] = {"time": record["time"], "stream": record["stream"], "log": record["log"]}
        try:
            parsed = json.loads(record["log"])
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            event[merged_key] = parsed
            del event["log"]
        event["kubernetes"] = {
            "pod_name": f"{component}-7d9c6b5f4-x2x7k",
            "namespace_name": APP_NAMESPACE,
            "container_name": component.removeprefix("ai-subsidy-"),
            "labels": {"app": component, "pod-template-hash": "7d9c6b5f4"},
            "host": NODE,
        }
        events.append(event)
    return events


def journal_event(config: tuple[list[Section], list[Section]], entry: dict[str, str]) -> dict[str, Any]:
    sections, _ = config
    modify = _filter(sections, "modify", "host.*")
    event = dict(entry)
    for rename in modify.all("Rename"):
        old, new = rename.split()
        if old in event:
            event[new] = event.pop(old)
    remove = re.compile(modify.get("Remove_regex"))
    return {key: value for key, value in event.items() if not remove.search(key)}


def _count(pattern: str, events: list[dict[str, Any]]) -> int:
    return sum(matches(pattern, event) for event in events)


UNHANDLED = [
    "node:internal/process/promises:391",
    "    triggerUncaughtException(err, true /* fromPromise */);",
    "    ^",
    "",
    "[UnhandledPromiseRejection: This error originated either by throwing inside of an async function without a catch block, "
    'or by rejecting a promise which was not handled with .catch(). The promise rejected with the reason "timeout".] {',
    "  code: 'ERR_UNHANDLED_REJECTION'",
    "}",
]


def test_backend_fatal_counts_the_backend_s_fatal_lines_only(config: Any, patterns: dict[str, dict[str, Any]]) -> None:
    pattern = patterns["backend-fatal"]["pattern"]
    backend = BACKEND.name
    assert _count(pattern, pod_events(config, backend, ["FATAL: cannot reach the database, exiting"])) == 1
    assert _count(pattern, pod_events(config, backend, ['{"level":60,"time":1764583200000,"msg":"config invalid"}'])) == 1
    assert _count(pattern, pod_events(config, backend, ['{"level":"fatal","msg":"config invalid"}'])) == 1
    assert _count(pattern, pod_events(config, backend, UNHANDLED)) == 1
    # Not counted: other levels, other components, the word in lower case inside a message.
    assert (
        _count(pattern, pod_events(config, backend, ['{"level":50,"msg":"upstream failed"}', "Error: timeout", "    at x (a.js:1:1)"])) == 0
    )
    assert _count(pattern, pod_events(config, FRONTEND.name, ["FATAL: build manifest missing"])) == 0
    assert _count(pattern, pod_events(config, backend, ["request finished, fatality rate report generated"])) == 0


OOM = {
    "_HOSTNAME": NODE,
    "_TRANSPORT": "kernel",
    "SYSLOG_IDENTIFIER": "kernel",
    "PRIORITY": "3",
    "_BOOT_ID": "9f1c",
}


def test_oom_kills_counts_one_event_per_killed_process(config: Any, patterns: dict[str, dict[str, Any]]) -> None:
    """A container over its limit and a node out of memory each print one `Killed process` line
    (mm/oom_kill.c); the lines around it (`invoked oom-killer`, the `oom-kill:` summary, `oom_reaper`) are
    not counted again. The journal's kernel entries reach the host group once: host.system excludes
    `_TRANSPORT=kernel`."""
    pattern = patterns["oom-kills"]["pattern"]
    lines = {
        "node invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=936": 0,
        "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=cri-containerd-4f2a.scope,mems_allowed=0,"
        "oom_memcg=/kubepods.slice/kubepods-burstable.slice,task_memcg=/kubepods.slice,task=node,pid=4242,uid=1000": 0,
        "Memory cgroup out of memory: Killed process 4242 (node) total-vm:1843212kB, anon-rss:524288kB, file-rss:40960kB, "
        "shmem-rss:0kB, UID:1000 pgtables:2048kB oom_score_adj:936": 1,
        "Out of memory: Killed process 977 (python3) total-vm:2843212kB, anon-rss:1524288kB, file-rss:0kB, shmem-rss:0kB, "
        "UID:0 pgtables:4048kB oom_score_adj:0": 1,
        "oom_reaper: reaped process 4242 (node), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB": 0,
    }
    for message, expected in lines.items():
        event = journal_event(config, {**OOM, "MESSAGE": message})
        assert set(event) == {"host", "ident", "message", "priority"}
        assert matches(pattern, event) is bool(expected), message
    sections, _ = config
    (grep,) = [s for s in sections if s.name == "FILTER" and s.get("Name") == "grep"]
    assert (grep.get("Match"), grep.get("Exclude")) == ("host.system", "_TRANSPORT ^kernel$")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_filters_and_queries_read_the_agent_s_log_groups(env: str, synthesis: Synthesis) -> None:
    """Each filter and saved query reads the cluster stack's group of its purpose (by reference)."""
    names = names_for(SPECS[env])
    stack = synthesis.stack(f"{env}-observability")
    filters = {body["name"]: body for body in resources_of(stack, "aws_cloudwatch_log_metric_filter").values()}
    for signal in LOG_SIGNALS:
        reference = filters[signal.purpose]["log_group_name"]
        assert "cross-stack-output-aws_cloudwatch_log_groupcontainer_logs_" + signal.group in reference
    queries = {body["name"]: body for body in resources_of(stack, "aws_cloudwatch_query_definition").values()}
    assert set(queries) == {f"{names.prefix}/{query.name}" for query in SAVED_QUERIES}
    for query in SAVED_QUERIES:
        groups = queries[f"{names.prefix}/{query.name}"]["log_group_names"]
        assert [purpose for purpose in query.groups if any(f"container_logs_{purpose}" in g for g in groups)] == list(query.groups)


def test_every_saved_query_and_alarm_is_in_a_runbook() -> None:
    """Saved queries are found in the console by name: each runbook that needs one names it."""
    text = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "docs" / "runbooks").glob("*.md"))
    for query in SAVED_QUERIES:
        assert f"ai-subsidy-<env>/{query.name}" in text, query.name
    page = (ROOT / "docs" / "runbooks" / f"{RUNBOOK}.md").read_text(encoding="utf-8")
    for signal in LOG_SIGNALS:
        assert f"## {signal.purpose}\n" in page
