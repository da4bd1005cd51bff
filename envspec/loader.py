"""Load `environments/<name>.yaml` files into `EnvironmentSpec` models, with errors a person can act on.

Every problem is reported as `<file>:<line>: <field>: <reason>`; nothing here raises anything but
`SpecError`, so callers can print it and exit without a traceback.
"""

from __future__ import annotations

import difflib
import ipaddress
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from envspec.capacity import node_autoscaling_problems
from envspec.dr import dr_problems
from envspec.models import EnvironmentSpec
from envspec.profiles import PROFILES, deep_merge, defaults_for
from envspec.slo import slo_problems

DEFAULT_DIRECTORY = Path(__file__).resolve().parent.parent / "environments"
GUIDE = "environments/README.md"  # what a file holds, how profiles fill it in, where the fields are described


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


class SpecError(Exception):
    """One or more problems in the environment files; `str()` is the message to show."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of silently keeping the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}' (first at line {seen[key]})", key_node.start_mark
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _line_of(root: yaml.Node | None, location: tuple[int | str, ...]) -> int | None:
    """Line of the deepest node along `location` that exists in the file."""
    node, line = root, None
    for part in location:
        if isinstance(node, yaml.MappingNode):
            match = next((value for key, value in node.value if key.value == part), None)
            key_line = next((key.start_mark.line + 1 for key, _ in node.value if key.value == part), None)
            if match is None:
                return line
            node, line = match, key_line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _allowed_fields(model: type[BaseModel], location: tuple[int | str, ...]) -> list[str]:
    for part in location:
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return sorted(model.model_fields)


def _reason(error: dict[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        parent, key = tuple(error["loc"][:-1]), str(error["loc"][-1])
        allowed = _allowed_fields(EnvironmentSpec, parent)
        hint = difflib.get_close_matches(key, allowed, n=1)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else (f"; allowed: {', '.join(allowed)}" if allowed else "")
        return f"unknown field{suggestion}"
    if error["type"] == "missing":
        return "required field is missing"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    # Echo the offending value, except where a misplaced credential could be it.
    echo = not any("secret" in str(part) for part in error["loc"])
    if (
        echo
        and error["type"] not in ("value_error", "assertion_error")
        and "input" in error
        and not isinstance(error["input"], (dict, list))
    ):
        message = f"{message} (got {error['input']!r})"
    return message


def _read_document(path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    shown = _display(path)
    if not path.is_file():
        raise SpecError([Problem(shown, "", "file not found")])
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        reason = getattr(error, "problem", None) or str(error)
        raise SpecError([Problem(shown, "", f"invalid YAML: {reason}", mark.line + 1 if mark else None)]) from None
    if not isinstance(document, dict):
        what = "is empty" if document is None else f"is a {type(document).__name__}, not a mapping of fields"
        raise SpecError(
            [Problem(shown, "", f"{what}: an environment file sets at least name, profile, aws, network, dns, ci (see {GUIDE})")]
        )
    return document, root


def load_file(path: Path) -> EnvironmentSpec:
    """Parse and validate one environment file."""
    shown = _display(path)
    document, root = _read_document(path)
    name, profile = document.get("name"), document.get("profile")
    problems = []
    if name != path.stem:
        problems.append(Problem(shown, "name", f"must equal the file name '{path.stem}' (got {name!r})", _line_of(root, ("name",))))
    if profile not in PROFILES:
        problems.append(Problem(shown, "profile", f"must be one of {', '.join(PROFILES)} (got {profile!r})", _line_of(root, ("profile",))))
    if problems:
        raise SpecError(problems)
    merged = deep_merge(defaults_for(str(name), str(profile)), document)
    try:
        spec = EnvironmentSpec.model_validate(merged, context={"profile": str(profile)})
    except ValidationError as error:
        raise SpecError(
            [
                Problem(shown, ".".join(map(str, item["loc"])), _reason(item), _line_of(root, tuple(item["loc"])))
                for item in error.errors(include_url=False)
            ]
        ) from None
    # A pinned node image in production; a NodePool that holds the spec's own peak (envspec/capacity.py); a
    # Prometheus that keeps the samples of the longest SLO window (envspec/slo.py); a standby with the replicas
    # it reads and a VPC apart from its primary (envspec/dr.py).
    checks = [*node_autoscaling_problems(spec), *slo_problems(spec.monitoring.prometheus_retention_days), *dr_problems(spec)]
    capacity = [Problem(shown, ".".join(loc), reason, _line_of(root, loc)) for loc, reason in checks]
    if capacity:
        raise SpecError(capacity)
    return spec


def environment_files(directory: Path = DEFAULT_DIRECTORY) -> dict[str, Path]:
    if not directory.is_dir():
        raise SpecError([Problem(_display(directory), "", "environments directory not found")])
    return {path.stem: path for path in sorted(directory.glob("*.yaml"))}


def _field_line(path: Path, location: tuple[str, ...]) -> int | None:
    try:
        _, root = _read_document(path)
    except SpecError:
        return None
    return _line_of(root, location)


def _vpc_ranges(spec: EnvironmentSpec) -> list[tuple[str, ipaddress.IPv4Network]]:
    """The environment's VPC ranges by field: the primary's and, with a standby, the DR VPC's."""
    ranges = [("network.vpc_cidr", spec.network.vpc_cidr)]
    if spec.dr.vpc_cidr is not None:
        ranges.append(("dr.vpc_cidr", spec.dr.vpc_cidr))
    return ranges


def _conflict(edited: Path, other_name: str, other: Path, field: str, reason: str, other_field: str | None = None) -> Problem:
    """A conflict between two files, reported on `edited` with the other file and its line named."""
    location = tuple(field.split("."))
    other_line = _field_line(other, tuple((other_field or field).split(".")))
    where = f"{_display(other)}:{other_line}" if other_line else _display(other)
    return Problem(_display(edited), field, f"{reason} of environment '{other_name}' ({where})", _field_line(edited, location))


def _check_across(specs: dict[str, EnvironmentSpec], files: dict[str, Path]) -> list[Problem]:
    """Overlapping VPC ranges and shared AWS accounts, reported on the more recently changed file
    (the likely edit), with the other file and its line named too; a value a profile supplies has
    no line. One account per environment: the CI stack's roles are scoped by account (a plan role
    of another environment in production's account would read production)."""
    problems = []
    for pair in itertools.combinations(sorted(specs), 2):
        first, second = sorted(pair, key=lambda name: files[name].stat().st_mtime_ns)
        # Every VPC of either environment against every VPC of the other, in both regions (a peering or
        # transit route between regions would need them apart as much as within one).
        for b_field, b in _vpc_ranges(specs[second]):
            for a_field, a in _vpc_ranges(specs[first]):
                if a.overlaps(b):
                    reason = f"{b} overlaps {a}" + ("" if a_field == "network.vpc_cidr" else f" ({a_field})")
                    problems.append(_conflict(files[second], first, files[first], b_field, reason, a_field))
        account = specs[second].aws.account_id
        if account == specs[first].aws.account_id:
            reason = f"account {account} is already the account"
            problems.append(_conflict(files[second], first, files[first], "aws.account_id", reason))
    return problems


def load_environments(directory: Path = DEFAULT_DIRECTORY, only: list[str] | None = None) -> dict[str, EnvironmentSpec]:
    """Load and validate every environment (cross-environment rules need them all); return `only` if given."""
    files = environment_files(directory)
    if not files:
        raise SpecError([Problem(_display(directory), "", "no environment files (*.yaml) found")])
    unknown = [name for name in only or [] if name not in files]
    if unknown:
        known = ", ".join(files)
        raise SpecError(
            [Problem(_display(directory / f"{name}.yaml"), "", f"unknown environment '{name}' (known: {known})") for name in unknown]
        )
    specs: dict[str, EnvironmentSpec] = {}
    problems: list[Problem] = []
    for name, path in files.items():
        try:
            specs[name] = load_file(path)
        except SpecError as error:
            problems.extend(error.problems)
    problems.extend(_check_across(specs, files))
    if problems:
        raise SpecError(problems)
    return {name: specs[name] for name in (only or specs)}
