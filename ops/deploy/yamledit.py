"""Change one scalar in a YAML file without touching anything else: comments, quoting, flow or block
style, key order and blank lines stay exactly as they were.

The edit works on the text, at the character positions PyYAML's composer reports for the node, and
then proves itself: the edited document must parse to the original document with only that one
value changed.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import yaml

from ops.errors import InputError


class EditError(InputError):
    pass


def _child(node: yaml.Node, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    if not isinstance(node, yaml.MappingNode):
        raise EditError(f"'{key}' is expected under a mapping, found {node.tag}")
    return next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)


def _line_end(text: str, index: int) -> int:
    """Index just after the newline that ends the line containing `index`."""
    end = text.find("\n", index)
    return len(text) if end < 0 else end + 1


def _last_value_end(node: yaml.Node) -> int:
    """End of the last value inside a block mapping (its own end mark may run into the next key)."""
    while isinstance(node, yaml.MappingNode) and node.value and not node.flow_style:
        node = node.value[-1][1]
    return int(node.end_mark.index)


def _render(keys: Sequence[str], value: str, indent: int) -> str:
    lines, pad = [], " " * indent
    for depth, key in enumerate(keys[:-1]):
        lines.append(f"{pad}{'  ' * depth}{key}:")
    lines.append(f"{pad}{'  ' * (len(keys) - 1)}{keys[-1]}: {value}")
    return "\n".join(lines) + "\n"


def set_scalar(text: str, path: Sequence[str], value: str) -> str:
    """Return `text` with the scalar at `path` set to the double-quoted `value` (created if missing)."""
    if any(char in value for char in '"\\\n'):
        raise EditError(f"value {value!r} would need escaping")
    quoted = f'"{value}"'
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        raise EditError("the document is not a mapping")
    node: yaml.Node = root
    for depth, key in enumerate(path):
        found = _child(node, key)
        if found is not None:
            node = found[1]
            continue
        remaining = list(path[depth:])
        if isinstance(node, yaml.MappingNode) and node.flow_style:
            inner = quoted
            for part in reversed(remaining[1:]):
                inner = f"{{{part}: {inner}}}"
            close = int(node.end_mark.index) - 1  # the closing brace
            separator = ", " if node.value else ""
            edited = f"{text[:close]}{separator}{remaining[0]}: {inner}{text[close:]}"
        elif node is root:
            prefix = text if text.endswith("\n") or not text else text + "\n"
            edited = prefix + _render(remaining, quoted, 0)
        else:
            if not isinstance(node, yaml.MappingNode) or not node.value:
                raise EditError(f"cannot add '{key}' under an empty or non-mapping value")
            indent = node.value[0][0].start_mark.column
            insert_at = _line_end(text, _last_value_end(node))
            block = _render(remaining, quoted, indent)
            edited = text[:insert_at] + ("" if text[:insert_at].endswith("\n") else "\n") + block + text[insert_at:]
        return _proven(text, edited, path, value)
    if not isinstance(node, yaml.ScalarNode):
        raise EditError(f"{'.'.join(path)} is not a scalar")
    edited = text[: node.start_mark.index] + quoted + text[node.end_mark.index :]
    return _proven(text, edited, path, value)


def _proven(original: str, edited: str, path: Sequence[str], value: str) -> str:
    before: Any = yaml.safe_load(original)
    after: Any = yaml.safe_load(edited)
    expected = copy.deepcopy(before)
    cursor = expected
    for key in path[:-1]:
        cursor = cursor.setdefault(key, {})
    cursor[path[-1]] = value
    if after != expected:
        raise EditError("the edit changed more than the one value; refusing to write it")
    return edited
