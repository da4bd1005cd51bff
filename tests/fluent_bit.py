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


def _names(text: str) -> set[str]:
    return set(text.split())


_INPUT = _names("alias log_level log_suppress_interval mem_buf_limit name routable storage.type tag threaded")
_FILTER = _names("alias log_level log_suppress_interval match match_regex name")
_OUTPUT = _names("alias log_level log_suppress_interval match match_regex name retry_limit storage.total_limit_size workers")

PROPERTIES: dict[tuple[str, str], set[str]] = {
    ("INPUT", "tail"): _INPUT
    | _names(
        "buffer_chunk_size buffer_max_size db db.journal_mode db.locking db.sync docker_mode exclude_path exit_on_eof "
        "ignore_older inotify_watcher key multiline.parser offset_key parser path path_key read_from_head "
        "read_newly_discovered_files_from_head refresh_interval rotate_wait skip_empty_lines skip_long_lines tag_regex "
        "truncate_long_lines watcher_interval"
    ),
    ("INPUT", "systemd"): _INPUT
    | _names("db db.sync lowercase max_entries max_fields path read_from_tail strip_underscores systemd_filter systemd_filter_type"),
    ("FILTER", "multiline"): _FILTER
    | _names(
        "buffer debug_flush emitter_mem_buf_limit emitter_name emitter_storage.type flush_ms mode multiline.key_content multiline.parser"
    ),
    ("FILTER", "kubernetes"): _FILTER
    | _names(
        "annotations buffer_size k8s-logging.exclude k8s-logging.parser keep_log kube_ca_file kube_tag_prefix "
        "kube_token_file kube_url kubelet_port labels merge_log merge_log_key merge_log_trim merge_parser use_kubelet"
    ),
    ("FILTER", "lua"): _FILTER | _names("call code protected_mode script time_as_table type_array_key type_int_key"),
    ("FILTER", "modify"): _FILTER | _names("add copy hard_rename remove remove_regex remove_wildcard rename set"),
    ("FILTER", "grep"): _FILTER | _names("exclude logical_op regex"),
    ("OUTPUT", "cloudwatch_logs"): _OUTPUT
    | _names(
        "auto_create_group auto_retry_requests endpoint external_id extra_user_agent log_format log_group_class "
        "log_group_name log_group_template log_key log_retention_days log_stream_name log_stream_prefix "
        "log_stream_template metric_dimensions metric_namespace profile region role_arn sts_endpoint"
    ),
}
SERVICE = _names(
    "daemon flush grace hc_errors_count hc_period hc_retry_failure_count health_check http_listen http_port "
    "http_server log_file log_level parsers_file plugins_file storage.backlog.mem_limit storage.metrics "
    "storage.path storage.sync"
)
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
