"""The environment spec's reference: every field of `EnvironmentSpec` with its type, limits,
description and the value each profile gives it, read from the pydantic models and the profiles."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import annotated_types
import pydantic_core
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from envspec.models import EnvironmentSpec
from envspec.profiles import PROFILES, defaults_for

PROFILE_NAMES = tuple(PROFILES)
# Names that depend on the environment's name are shown with this placeholder.
ENV_PLACEHOLDER = "<env>"
REQUIRED = "required"


@dataclass(frozen=True)
class SpecField:
    path: str
    info: FieldInfo
    annotation: Any
    # Under a mapping that may be absent (null by default): its fields have no value until it is set.
    optional_parent: bool = False

    @property
    def description(self) -> str:
        return (self.info.description or "").strip()

    @property
    def nested(self) -> bool:
        return _model_of(self.annotation) is not None


def _args(annotation: Any) -> tuple[Any, ...]:
    return typing.get_args(annotation)


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (directly, optionally, or as list items), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is typing.Annotated:
        return _model_of(_args(annotation)[0])
    if _is_union(annotation) or typing.get_origin(annotation) is tuple:
        for arg in _args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


def _is_list(annotation: Any) -> bool:
    if _is_union(annotation):
        return any(_is_list(arg) for arg in _args(annotation))
    return typing.get_origin(annotation) is tuple


def fields(model: type[BaseModel] = EnvironmentSpec, prefix: str = "", optional: bool = False) -> Iterator[SpecField]:
    """Every field, depth first, nested models' fields after the field that holds them (`a.b`, list items `a[].b`)."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        yield SpecField(path, info, info.annotation, optional)
        nested = _model_of(info.annotation)
        if nested is not None:
            absent = optional or info.default is None
            yield from fields(nested, f"{path}[]." if _is_list(info.annotation) else f"{path}.", absent)


def type_name(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), _args(annotation)
    if annotation is type(None):
        return "null"
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is Literal:
        return " \\| ".join(f"`{value}`" for value in args)
    if _is_union(annotation):
        return " or ".join(type_name(arg) for arg in args)
    if origin is tuple:
        return f"list of {type_name(args[0])}"
    if origin is dict:
        return f"map of {type_name(args[0])} to {type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    if isinstance(annotation, type):
        return {"IPv4Network": "CIDR", "str": "string", "int": "integer", "bool": "boolean", "float": "number"}.get(
            annotation.__name__, annotation.__name__
        )
    return str(annotation)


def _limits(info: FieldInfo) -> str:
    parts = []
    for item in info.metadata:
        if isinstance(item, annotated_types.Ge):
            parts.append(f"≥ {item.ge}")
        elif isinstance(item, annotated_types.Gt):
            parts.append(f"> {item.gt}")
        elif isinstance(item, annotated_types.Le):
            parts.append(f"≤ {item.le}")
        elif isinstance(item, annotated_types.MinLen):
            parts.append(f"at least {item.min_length}")
        elif isinstance(item, annotated_types.MaxLen):
            parts.append(f"at most {item.max_length} characters")
    return ", ".join(parts)


def _lookup(tree: Any, path: str) -> Any:
    node = tree
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return PydanticUndefined
        node = node[key]
    return node


def _render(value: Any) -> str:
    if value is None:
        return "`null`"
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, (str, int, float, Decimal)):
        return f"`{value}`".replace("|", "\\|")
    value = pydantic_core.to_jsonable_python(value)
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False).strip()
    text = text.removesuffix("\n...").strip()
    return f"`{text}`".replace("|", "\\|")


def profile_value(spec_field: SpecField, profile: str) -> str:
    """What an environment of `profile` gets when its file does not set the field."""
    value = _lookup(defaults_for(ENV_PLACEHOLDER, profile), spec_field.path)
    if "[]" in spec_field.path or (spec_field.nested and spec_field.info.default is not None):
        return ""
    if value is PydanticUndefined and spec_field.optional_parent:
        return ""
    if value is PydanticUndefined:
        info = spec_field.info
        if info.default is not PydanticUndefined:
            value = info.default
        elif info.default_factory is not None:
            value = info.default_factory()
        else:
            return REQUIRED
    return _render(value)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def reference() -> str:
    """One table per top-level section of the spec."""
    lines: list[str] = []
    header = "| field | type | description | " + " | ".join(PROFILE_NAMES) + " |"
    rule = "| --- | --- | --- |" + " --- |" * len(PROFILE_NAMES)
    for spec_field in fields():
        top = "." not in spec_field.path
        if top:
            lines += ["", f"### `{spec_field.path}`", "", _cell(spec_field.description), "", header, rule]
        kind = type_name(spec_field.annotation)
        limits = _limits(spec_field.info)
        kind = f"{kind} ({limits})" if limits else kind
        cells = [f"`{spec_field.path}`", kind, _cell(spec_field.description)]
        cells += [profile_value(spec_field, profile) for profile in PROFILE_NAMES]
        lines.append("| " + " | ".join(cells) + " |")
    intro = (
        f"Generated from `envspec/models.py` (types, limits, descriptions) and `envspec/profiles.py` (a column per "
        f"profile: the value an environment gets when its file does not set the field; `{REQUIRED}`: every file must "
        f"set it; `{ENV_PLACEHOLDER}` stands for the environment's name). `a[].b` is field `b` of each item of list `a`."
    )
    return intro + "\n" + "\n".join(lines) + "\n"


def undocumented() -> list[str]:
    """Paths of the fields that have no description."""
    return [spec_field.path for spec_field in fields() if not spec_field.description]
