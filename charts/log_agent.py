"""The log agent: Fluent Bit (aws-for-fluent-bit 3.2.1, Fluent Bit v4.2.2) as a DaemonSet on every node,
installed by Argo CD from the `aws-for-fluent-bit` chart 0.2.0 (aws/eks-charts, stable/aws-for-fluent-bit
at commit 2942cdce; why this path and not the EKS add-on: docs/logging.md).

The chart renders one `fluent-bit.conf` from `service.extraService`, `service.parsersFiles`,
`additionalInputs`, `additionalFilters` and `additionalOutputs` (templates/configmap.yaml) and a
`parser_extra.conf` from `service.extraParsers`; its own single input, filter and output are off, so
the whole pipeline is the text below, in git:

- pods' logs (`/var/log/containers/*.log`, containerd's CRI format) through the built-in `cri`
  multiline parser (joins the runtime's partial `P` lines), then `nodejs_stack`: a Node.js stack trace
  (`Error: ...` and its indented `at ...` lines) is one event; then the Kubernetes metadata (namespace,
  pod, container, labels), JSON lines merged under `log_processed`; then the redaction of
  charts/data/log_redaction.lua; to the `application` group;
- kubelet and containerd (journal) and the aws-node and kube-proxy pods to `dataplane`;
- the kernel (OOM kills) and the rest of the journal to `host`. EKS AL2023 nodes have no rsyslog
  (no /var/log/messages): everything but the containers' files is in the journal.

No output creates a log group or sets a retention (the cluster stack does both, KMS-encrypted:
stacks/cluster/container_logs.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from envspec import EnvironmentSpec, names_for
from envspec.naming import LOG_AGENT_NAME

Section = tuple[str, Sequence[tuple[str, str]]]

IMAGE = {"repository": "public.ecr.aws/aws-observability/aws-for-fluent-bit", "tag": "3.2.1"}
METRICS_PORT = 2020
METRICS_PATH = "/api/v1/metrics/prometheus"
STATE_DIR = "/var/fluent-bit/state"  # tail and journal positions, on the node: a restart resumes
APPLICATION_TAG = "kube.*"
KUBE_TAG_PREFIX = "kube.var.log.containers."
MERGED_LOG_KEY = "log_processed"
MULTILINE_PARSER = "nodejs_stack"
# Kept out of `application`: the data plane's own pods, which have a group of their own.
DATAPLANE_PODS = ("/var/log/containers/aws-node*", "/var/log/containers/kube-proxy*")
DATAPLANE_UNITS = ("kubelet.service", "containerd.service")
# Fluent Bit's classic config reads lines of at most 4,096 bytes (include/fluent-bit/flb_config_format.h
# FLB_DEFAULT_CF_BUF_SIZE, used by src/config_format/flb_cf_fluentbit.c).
MAX_LINE = 4096
RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
# Sized under the memory limit: tail pauses reading (it never drops) when its buffer is full.
APPLICATION_BUFFER = "32MB"
SMALL_BUFFER = "8MB"
REDACTION_SCRIPT = Path(__file__).parent / "data" / "log_redaction.lua"
REDACTED_FIELDS = ("authorization", "proxy-authorization", "cookie", "set-cookie")


def lua_code() -> str:
    """The redaction script as one line: the `code` property cannot span lines in the classic format."""
    lines = [line.strip() for line in REDACTION_SCRIPT.read_text(encoding="utf-8").splitlines()]
    return " ".join(line for line in lines if line and not line.startswith("--"))


def render(sections: Sequence[Section]) -> str:
    """Sections at column 0, keys indented four spaces, as the chart's template places them."""
    out = []
    for name, keys in sections:
        out.append(f"[{name}]")
        width = max(len(key) for key, _ in keys)
        out += [f"    {key.ljust(width)} {value}" for key, value in keys]
        out.append("")
    return "\n".join(out)


def service() -> list[tuple[str, str]]:
    return [
        ("Flush", "5"),
        ("Log_Level", "info"),
        ("Daemon", "off"),
        # The metrics the LogAgentDroppingRecords alert reads, and the liveness probe's health check.
        ("HTTP_Server", "On"),
        ("HTTP_Listen", "0.0.0.0"),  # noqa: S104 - Prometheus scrapes the pod IP
        ("HTTP_Port", str(METRICS_PORT)),
        ("Health_Check", "On"),
        ("HC_Errors_Count", "5"),
        ("HC_Retry_Failure_Count", "5"),
        ("HC_Period", "60"),
    ]


def parsers() -> list[Section]:
    # A stack trace starts at any line that is not indented and goes on with indented lines (`    at
    # f (file.js:1:2)`, the error's own properties) and the closing brace Node prints after them.
    return [
        (
            "MULTILINE_PARSER",
            [
                ("name", MULTILINE_PARSER),
                ("type", "regex"),
                ("flush_timeout", "1000"),
                ("rule", '"start_state" "/^\\S/" "cont"'),
                ("rule", '"cont" "/^(\\s+\\S|\\}\\s*$)/" "cont"'),
            ],
        )
    ]


def _tail(tag: str, *, path: str, db: str, buffer: str, exclude: Sequence[str] = ()) -> Section:
    keys = [("Name", "tail"), ("Tag", tag), ("Path", path)]
    if exclude:
        keys.append(("Exclude_Path", ", ".join(exclude)))
    keys += [
        ("multiline.parser", "cri"),
        ("DB", f"{STATE_DIR}/{db}"),
        ("Mem_Buf_Limit", buffer),
        ("Skip_Long_Lines", "On"),
        ("Refresh_Interval", "10"),
        ("Rotate_Wait", "30"),
        # A new node's first pods start before the agent: their files are read from the start once
        # (the DB remembers the position afterwards).
        ("Read_from_Head", "On"),
    ]
    return ("INPUT", keys)


def _journal(tag: str, *, db: str, filters: Sequence[str]) -> Section:
    return (
        "INPUT",
        [
            ("Name", "systemd"),
            ("Tag", tag),
            ("Path", "/var/log/journal"),
            *(("Systemd_Filter", item) for item in filters),
            ("DB", f"{STATE_DIR}/{db}"),
            ("Read_From_Tail", "On"),
        ],
    )


def inputs() -> list[Section]:
    return [
        _tail(APPLICATION_TAG, path="/var/log/containers/*.log", db="containers.db", buffer=APPLICATION_BUFFER, exclude=DATAPLANE_PODS),
        _tail("dataplane.pods.*", path=", ".join(DATAPLANE_PODS), db="dataplane-pods.db", buffer=SMALL_BUFFER),
        _journal("dataplane.units.*", db="dataplane-units.db", filters=[f"_SYSTEMD_UNIT={unit}" for unit in DATAPLANE_UNITS]),
        _journal("host.kernel", db="host-kernel.db", filters=["_TRANSPORT=kernel"]),
        # Warnings and worse from the rest of the journal (priorities 0-4); the kernel's are above.
        _journal("host.system", db="host-system.db", filters=[f"PRIORITY={level}" for level in range(5)]),
    ]


def _journal_fields(match: str, names: dict[str, str]) -> Section:
    """Readable names for the fields kept; every other journal field (all upper case) is removed."""
    return (
        "FILTER",
        [("Name", "modify"), ("Match", match), *(("Rename", f"{old} {new}") for old, new in names.items()), ("Remove_regex", "[A-Z]")],
    )


def filters() -> list[Section]:
    return [
        # First: the filter re-emits joined records at the head of the pipeline, so filters before it
        # would see them twice (Fluent Bit manual, "Multiline" filter).
        (
            "FILTER",
            [
                ("Name", "multiline"),
                ("Match", APPLICATION_TAG),
                ("multiline.key_content", "log"),
                ("multiline.parser", MULTILINE_PARSER),
                ("emitter_mem_buf_limit", SMALL_BUFFER),
            ],
        ),
        (
            "FILTER",
            [
                ("Name", "kubernetes"),
                ("Match", APPLICATION_TAG),
                ("Kube_Tag_Prefix", KUBE_TAG_PREFIX),
                ("Merge_Log", "On"),
                ("Merge_Log_Key", MERGED_LOG_KEY),
                # A JSON line is kept once, parsed; the raw text would carry every field a second time.
                ("Keep_Log", "Off"),
                ("Labels", "On"),
                ("Annotations", "Off"),
                # No pod chooses its parser or hides its logs through annotations.
                ("K8S-Logging.Parser", "Off"),
                ("K8S-Logging.Exclude", "Off"),
                ("Buffer_Size", "0"),
            ],
        ),
        ("FILTER", [("Name", "lua"), ("Match", APPLICATION_TAG), ("call", "redact"), ("code", lua_code())]),
        _journal_fields("dataplane.units.*", {"_HOSTNAME": "host", "_SYSTEMD_UNIT": "unit", "MESSAGE": "message"}),
        ("FILTER", [("Name", "grep"), ("Match", "host.system"), ("Exclude", "_TRANSPORT ^kernel$")]),
        _journal_fields("host.*", {"_HOSTNAME": "host", "SYSLOG_IDENTIFIER": "ident", "MESSAGE": "message", "PRIORITY": "priority"}),
    ]


def outputs(spec: EnvironmentSpec) -> list[Section]:
    names = names_for(spec)

    def cloudwatch(match: str, purpose: str) -> Section:
        return (
            "OUTPUT",
            [
                ("Name", "cloudwatch_logs"),
                ("Match", match),
                ("Alias", purpose),  # the `name` label of the output's metrics
                ("region", spec.aws.region),
                ("log_group_name", names.container_log_group(purpose)),
                ("log_stream_prefix", "${HOST_NAME}-"),
                ("auto_create_group", "false"),
                # A failed PutLogEvents is retried with backoff this many times before the chunk is
                # dropped (fluentbit_output_dropped_records_total: LogAgentDroppingRecords).
                ("Retry_Limit", "5"),
            ],
        )

    return [cloudwatch(APPLICATION_TAG, "application"), cloudwatch("dataplane.*", "dataplane"), cloudwatch("host.*", "host")]


def pipeline(spec: EnvironmentSpec) -> dict[str, list[Section]]:
    return {"service": [("SERVICE", service())], "inputs": inputs(), "filters": filters(), "outputs": outputs(spec), "parsers": parsers()}


def _host_path(name: str, *, path: str, kind: str) -> dict[str, Any]:
    return {"name": name, "hostPath": {"path": path, "type": kind}}


def log_agent_values(spec: EnvironmentSpec) -> dict[str, Any]:
    names = names_for(spec)
    parts = pipeline(spec)
    service_keys = parts["service"][0][1]
    return {
        "fullnameOverride": LOG_AGENT_NAME,
        "image": dict(IMAGE),
        "service": {
            "extraService": "\n".join(f"{key} {value}" for key, value in service_keys),
            # None of the image's stock parsers is used (`cri` is built in): no file whose path could move.
            "parsersFiles": [],
            "extraParsers": render(parts["parsers"]),
        },
        "input": {"enabled": False},
        "filter": {"enabled": False},
        "cloudWatchLogs": {"enabled": False},
        "additionalInputs": render(parts["inputs"]),
        "additionalFilters": render(parts["filters"]),
        "additionalOutputs": render(parts["outputs"]),
        # Credentials come from the Pod Identity association for exactly this service account.
        "serviceAccount": {"create": True, "name": names.log_agent_service_account.name},
        "resources": RESOURCES,
        # The built-in class of node agents (2,000,001,000): above every workload, so the scheduler
        # preempts others to place it on a full node rather than leave that node's logs uncollected.
        "priorityClassName": "system-node-critical",
        # Every node: the system nodes' CriticalAddonsOnly taint, Karpenter's and the node lifecycle
        # taints (NoExecute on a node going away: its last logs are still shipped).
        "tolerations": [{"operator": "Exists"}],
        "env": [{"name": "HOST_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        # Root (the containers' log files are root's, mode 0640), no capability, nothing written but
        # the positions in STATE_DIR.
        "containerSecurityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "podSecurityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "volumes": [
            _host_path("varlog", path="/var/log", kind="Directory"),
            _host_path("machine-id", path="/etc/machine-id", kind="File"),
            _host_path("state", path=STATE_DIR, kind="DirectoryOrCreate"),
        ],
        "volumeMounts": [
            {"name": "varlog", "mountPath": "/var/log", "readOnly": True},
            {"name": "machine-id", "mountPath": "/etc/machine-id", "readOnly": True},
            {"name": "state", "mountPath": STATE_DIR},
        ],
        # The scrape-targets chart has the ServiceMonitor: the chart's own renders only where the
        # operator's CRD already exists, and this release syncs before kube-prometheus-stack.
        "serviceMonitor": {"enabled": False},
    }
