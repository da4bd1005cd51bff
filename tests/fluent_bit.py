"""Fluent Bit's own rules, ported from its source at v4.2.2 (the engine of aws-for-fluent-bit 3.2.1:
aws/aws-for-fluent-bit pull request #1069, "Release 3.2.1"), for the tests of the log agent.

No Fluent Bit binary installs here (Debian bookworm has no `fluent-bit` package), so:

- `parse` reads the classic format as src/config_format/flb_cf_fluentbit.c does: `[SECTION]` at
  column 0; the first indented line fixes the indentation every key line must use; `#` starts a
  comment line; a key line splits at its first space into key and value, an empty value is an error;
  lines are read into a 4,096-byte buffer (FLB_DEFAULT_CF_BUF_SIZE);
- `PROPERTIES` lists, per plugin, the names its config map accepts (FLB_CONFIG_MAP_* in
  plugins/<plugin>/*.c) plus the generic ones every instance takes (src/flb_input.c, src/flb_filter.c,
  src/flb_output.c `prop_key_check`); SERVICE's come from include/fluent-bit/flb_config.h FLB_CONF_*
  and MULTILINE_PARSER's from src/flb_parser.c (`get_parser_key` and `rule`);
- `CriTail` and `Multiline` replay the multiline engine: the built-in `cri` parser
  (src/multiline/flb_ml_parser_cri.c: regex `^(?<time>.+?) (?<stream>stdout|stderr) (?<_p>F|P) (?<log>.*)$`,
  concatenating `P` lines until an `F` one, grouped by stream) and a regex parser's state machine
  (src/multiline/flb_ml_rule.c `flb_ml_rule_process`: in a continuation, a line matching a rule that
  leaves the current state is appended with a newline; otherwise a line matching `start_state` flushes
  what is pending and starts a new record; a line matching neither flushes and passes alone).
  Fluent Bit compiles rules with Onigmo; the patterns used here mean the same in Python's `re`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_LINE = 4096

_INPUT = {"name", "tag", "log_level", "log_suppress_interval", "routable", "alias", "mem_buf_limit", "storage.type", "threaded"}
_FILTER = {"name", "match", "match_regex", "alias", "log_level", "log_suppress_interval"}
_OUTPUT = {"name", "match", "match_regex", "alias", "log_level", "log_suppress_interval", "retry_limit", "storage.total_limit_size", "workers"}

PROPERTIES: dict[tuple[str, str], set[str]] = {
    ("INPUT", "tail"): _INPUT
    | set(
        "path exclude_path key read_from_head read_newly_discovered_files_from_head refresh_interval watcher_interval "
        "rotate_wait docker_mode path_key offset_key ignore_older buffer_chunk_size buffer_max_size skip_long_lines "
        "exit_on_eof skip_empty_lines truncate_long_lines inotify_watcher parser tag_regex db db.sync db.locking "
        "db.journal_mode multiline.parser".split()
    ),
    ("INPUT", "systemd"): _INPUT
    | set("path max_fields max_entries systemd_filter_type systemd_filter read_from_tail lowercase strip_underscores db.sync db".split()),
    ("FILTER", "multiline"): _FILTER
    | set(
        "debug_flush buffer mode flush_ms multiline.parser multiline.key_content emitter_name emitter_storage.type "
        "emitter_mem_buf_limit".split()
    ),
    ("FILTER", "kubernetes"): _FILTER
    | set(
        "buffer_size merge_log merge_parser merge_log_key merge_log_trim keep_log kube_url kube_ca_file kube_tag_prefix "
        "kube_token_file labels annotations k8s-logging.parser k8s-logging.exclude use_kubelet kubelet_port".split()
    ),
    ("FILTER", "lua"): _FILTER | {"script", "code", "call", "type_int_key", "type_array_key", "protected_mode", "time_as_table"},
    ("FILTER", "modify"): _FILTER | {"set", "add", "remove", "remove_wildcard", "remove_regex", "rename", "hard_rename", "copy"},
    ("FILTER", "grep"): _FILTER | {"regex", "exclude", "logical_op"},
    ("OUTPUT", "cloudwatch_logs"): _OUTPUT
    | set(
        "region log_group_name log_stream_name log_stream_prefix log_group_template log_stream_template log_key "
        "extra_user_agent log_format role_arn auto_create_group auto_retry_requests log_retention_days endpoint "
        "sts_endpoint external_id metric_namespace metric_dimensions profile log_group_class".split()
    ),
}
SERVICE = {
    key.lower()
    for key in "Flush Grace Daemon Log_File Log_Level Parsers_File Plugins_File HTTP_Server HTTP_Listen HTTP_Port Health_Check "
    "HC_Errors_Count HC_Retry_Failure_Count HC_Period storage.path storage.sync storage.metrics storage.backlog.mem_limit".split()
}
MULTILINE_PARSER = {"name", "type", "match_string", "negate", "key_content", "key_pattern", "key_group", "parser", "flush_timeout", "rule"}


@dataclass
class Section:
    name: str
    line: int
    keys: list[tuple[str, str]] = field(default_factory=list)

    def get(self, key: str) -> str | None:
        return next((value for name, value in self.keys if name.lower() == key.lower()), None)

    def all(self, key: str) -> list[str]:
        return [value for name, value in self.keys if name.lower() == key.lower()]


def parse(text: str) -> list[Section]:
    sections: list[Section] = []
    indent: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if len(raw.encode()) + 1 > MAX_LINE:
            raise ValueError(f"line {number}: {len(raw.encode())} bytes, over the {MAX_LINE}-byte line buffer")
        line = raw.rstrip()
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("@"):
            raise ValueError(f"line {number}: meta commands are not used here: {line!r}")
        if line.startswith("["):
            if not line.endswith("]"):
                raise ValueError(f"line {number}: bad header definition")
            if sections and not sections[-1].keys:
                raise ValueError(f"line {number}: previous section [{sections[-1].name}] has no keys")
            sections.append(Section(line[1:-1], number))
            continue
        if indent is None:
            indent = line[: len(line) - len(line.lstrip())]
        if not line.startswith(indent) or line[len(indent)] in " \t" or not sections:
            raise ValueError(f"line {number}: invalid indentation level")
        key, separator, value = line[len(indent) :].partition(" ")
        if not separator or not value.strip():
            raise ValueError(f"line {number}: key {key!r} has an empty value")
        sections[-1].keys.append((key, value.strip()))
    return sections


def unknown_properties(section: Section) -> list[str]:
    if section.name == "SERVICE":
        allowed = SERVICE
    elif section.name == "MULTILINE_PARSER":
        allowed = MULTILINE_PARSER
    else:
        plugin = section.get("Name")
        allowed = PROPERTIES.get((section.name, (plugin or "").lower()))
        if allowed is None:
            return [f"no known plugin [{section.name}] {plugin}"]
    return [key for key, _ in section.keys if key.lower() not in allowed]


CRI = re.compile(r"^(?P<time>.+?) (?P<stream>stdout|stderr) (?P<_p>F|P) (?P<log>.*)$")


def cri_records(lines: list[str]) -> list[dict[str, str]]:
    """The `cri` multiline parser of the tail input: P (partial) lines joined up to their F line, per stream."""
    records, pending = [], {}
    for line in lines:
        match = CRI.match(line)
        if not match:
            raise ValueError(f"not a CRI log line: {line!r}")
        stream, flag, text = match["stream"], match["_p"], match["log"]
        pending[stream] = pending.get(stream, "") + text
        if flag == "F":
            records.append({"time": match["time"], "stream": stream, "log": pending.pop(stream)})
    return records


def _regex(pattern: str) -> re.Pattern[str]:
    if not (pattern.startswith("/") and pattern.endswith("/")):
        raise ValueError(f"a rule's regex is written /.../: {pattern!r}")
    return re.compile(pattern[1:-1])


@dataclass(frozen=True)
class Rule:
    state: str
    regex: re.Pattern[str]
    to: str


def rules_of(parser: Section) -> list[Rule]:
    rules = []
    for value in parser.all("rule"):
        tokens = re.findall(r'"([^"]*)"', value)
        if len(tokens) != 3:
            raise ValueError(f"rule needs from-state, regex and to-state: {value!r}")
        rules.append(Rule(tokens[0], _regex(tokens[1]), tokens[2]))
    if not any(rule.state == "start_state" for rule in rules):
        raise ValueError("a regex multiline parser needs a start_state rule")
    return rules


def join_multiline(rules: list[Rule], records: list[dict[str, str]], key: str = "log") -> list[dict[str, str]]:
    """flb_ml_rule_process over one stream's records (the multiline filter's key_content): after a rule
    matched, the next line is tried against the rules whose from-state is that rule's to-state."""
    out: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    to_state = ""
    for record in records:
        text = record[key]
        if current is not None:
            hit = next((r for r in rules if r.state == to_state and r.state != "start_state" and r.regex.search(text)), None)
            if hit:
                current[key] += "\n" + text
                to_state = hit.to
                continue
        start = next((r for r in rules if r.state == "start_state" and r.regex.search(text)), None)
        if current is not None:
            out.append(current)
            current = None
        if start:
            current, to_state = dict(record), start.to
        else:
            out.append(dict(record))
    if current is not None:
        out.append(current)
    return out
