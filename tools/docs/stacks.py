"""Each stack's inputs and outputs, read from the synthesized Terraform JSON.

Outputs are the `output` blocks a stack declares with a description (what a person or a workflow
reads with `terraform output`); inputs are the `terraform_remote_state` data sources cdktf writes for
a cross-stack reference, with the producing resource's attribute each one reads. The tables are the
union over the synthesized environments, with the environment's name shown as `<env>`.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from envspec.naming import DR_LAYERS, LAYERS
from tools.errors import ToolError

ALL_LAYERS = (*LAYERS, *DR_LAYERS)

CROSS_STACK_OUTPUT = "cross-stack-output-"
REMOTE_STATE = re.compile(r"data\.terraform_remote_state\.cross-stack-reference-input-([a-z0-9-]+)\.outputs\.([\w.-]+)")
# cdktf's logical ids end in an 8-digit hash of the construct path: stable, but noise in a reference.
HASH = re.compile(r"_[0-9A-F]{8}(?=\.)")
ZONE = re.compile(r"_[a-z]{2}-[a-z]+-\d[a-z](?=\.)")


def _stacks(terraform_dir: Path) -> dict[str, dict[str, Any]]:
    return {
        path.parent.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted((terraform_dir / "stacks").glob("*/cdk.tf.json"))
    }


def _layer(stack_id: str) -> tuple[str, str]:
    for layer in sorted(ALL_LAYERS, key=len, reverse=True):
        if stack_id.endswith(f"-{layer}"):
            return stack_id.removesuffix(f"-{layer}"), layer
    raise ToolError(f"{stack_id} is not <env>-<layer> for a known layer")


def _address(expression: str) -> str:
    """`${aws_subnet.vpc_isolated_ap-northeast-1a_A43DD0E8.id}` -> `aws_subnet.vpc_isolated_<zone>.id`."""
    address = expression.removeprefix("${").removesuffix("}")
    return ZONE.sub("_<zone>", HASH.sub("", address))


def _cell(text: str, env: str) -> str:
    return " ".join(text.replace(env, "<env>").split()).replace("|", "\\|")


def reference(terraform_dir: Path) -> str:
    stacks = _stacks(terraform_dir)
    outputs: dict[str, dict[str, str]] = defaultdict(dict)
    reads: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for stack_id, stack in stacks.items():
        env, layer = _layer(stack_id)
        for name, block in stack.get("output", {}).items():
            if not name.startswith(CROSS_STACK_OUTPUT):
                outputs[layer].setdefault(name, _cell(block.get("description", ""), env))
        for producer, output in REMOTE_STATE.findall(json.dumps(stack)):
            value = stacks[producer]["output"][output]["value"]
            reads[layer][_layer(producer)[1]].add(_address(value))
    lines = []
    for layer in [layer for layer in ALL_LAYERS if layer in outputs or layer in reads]:
        lines += ["", f"### `<env>-{layer}`", ""]
        if reads[layer]:
            lines += ["Reads from other stacks' state:", "", "| stack | value |", "| --- | --- |"]
            for producer in sorted(reads[layer], key=ALL_LAYERS.index):
                lines += [f"| `<env>-{producer}` | `{address}` |" for address in sorted(reads[layer][producer])]
        else:
            lines.append("Reads no other stack's state.")
        lines += ["", "| output | description |", "| --- | --- |"]
        lines += [f"| `{name}` | {description} |" for name, description in sorted(outputs[layer].items())]
    return "\n".join(lines).lstrip("\n") + "\n"


def undocumented_outputs(terraform_dir: Path) -> list[str]:
    """`<stack>.<output>` of every declared output without a description."""
    return [
        f"{stack_id}.{name}"
        for stack_id, stack in _stacks(terraform_dir).items()
        for name, block in stack.get("output", {}).items()
        if not name.startswith(CROSS_STACK_OUTPUT) and not block.get("description", "").strip()
    ]
