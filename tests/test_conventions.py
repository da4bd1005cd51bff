"""One error type per layer and one exit-code convention (envspec/exit_codes.py, docs/conventions.md).

- Each layer raises its own type: `SpecError` (envspec), `SynthesisError` (synth, stacks, charts),
  `OpsError` (ops), `ToolError` (tools); kinds of them subclass it.
- Every command answers bad input with one `error:` line, exit 2 and no traceback.
- An error raised while building a construct names the construct's path.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from cdktf import App, TerraformStack
from constructs import Construct

from envspec import exit_codes
from stacks.checkov import skip_check
from synth.errors import SynthesisError, construct_error
from tests.conftest import ROOT

LAYER_ERRORS = {
    "envspec": {"SpecError"},
    "synth": {"SynthesisError", "ChildSynthesisError"},
    "stacks": set(),
    "charts": set(),
    "ops": {"OpsError"},
    "tools": {"ToolError"},
}
LAYER_BASES = {"envspec": "SpecError", "synth": "SynthesisError", "ops": "OpsError", "tools": "ToolError"}
# The Lambda function's own source (run by AWS, not at synthesis) is not part of a layer.
NOT_A_LAYER = {"stacks/observability/oncall_forwarder.py"}
CLASS = re.compile(r"^class (\w+)\(([\w.]+)\):", re.MULTILINE)


def test_each_layer_defines_one_error_type() -> None:
    for layer, allowed in LAYER_ERRORS.items():
        for path in sorted((ROOT / layer).rglob("*.py")):
            if str(path.relative_to(ROOT)) in NOT_A_LAYER:
                continue
            for name, base in CLASS.findall(path.read_text(encoding="utf-8")):
                if base in {"Exception", "ValueError", "RuntimeError", "KeyError", "TypeError", "LookupError"}:
                    assert name in allowed, f"{path.relative_to(ROOT)}: {name}({base}); raise the layer's error type instead"


def test_a_construct_error_names_the_construct_path() -> None:
    stack = TerraformStack(App(), "staging-data")
    group = Construct(stack, "database_security_group")
    error = construct_error(group, "no component connects to the database")
    assert isinstance(error, SynthesisError)
    assert str(error) == "staging-data/database_security_group: no component connects to the database"
    with pytest.raises(SynthesisError, match=r"^staging-data/database_security_group: 'CKV_K8S_1' is not a checkov AWS check id"):
        skip_check(group, "CKV_K8S_1", "a reason long enough")  # type: ignore[arg-type]


BAD_INPUT_COMMANDS = {
    "synth": [sys.executable, "-m", "synth", "--env", "nope", "--quiet"],
    "ops": [sys.executable, "-m", "ops", "dr", "status", "--env", "nope"],
    "tools.delivery": [sys.executable, "-m", "tools.delivery", "plan", "--env", "nope"],
    "tools.set_image": [sys.executable, "-m", "tools.set_image", "--env", "nope", "--component", "backend", "--tag", "v1"],
    "tools.docs": [sys.executable, "-m", "tools.docs", "--terraform-dir", "/nonexistent"],
    "tools.diagram": [sys.executable, "-m", "tools.diagram", "--terraform-dir", "/nonexistent"],
    "tools.terraform_cli": [sys.executable, "-m", "tools.terraform_cli", "bogus"],
}


@pytest.mark.parametrize("command", sorted(BAD_INPUT_COMMANDS))
def test_bad_input_is_one_error_line_and_exit_2(command: str) -> None:
    result = subprocess.run(BAD_INPUT_COMMANDS[command], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == exit_codes.BAD_INPUT, (command, result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, command
    if command != "tools.terraform_cli":  # prints its usage instead
        assert re.search(r"^error: ", result.stderr, re.MULTILINE), (command, result.stderr)


def test_the_convention_is_documented() -> None:
    text = (ROOT / "docs" / "conventions.md").read_text(encoding="utf-8")
    for name in ("OK", "FAILED", "BAD_INPUT", "CANNOT_ACT", "INTERRUPTED"):
        assert f"| {getattr(exit_codes, name)} | `{name}` |" in text, name
    for error in LAYER_BASES.values():
        assert f"`{error}`" in text, error


def test_the_synthesizer_imports_no_jsii_before_it_configures_it() -> None:
    """`python -m synth` picks the Node for jsii (synth.runtime) and forks (synth.parallel) before any
    binding is imported; a module of the error path that imported `constructs` at import time started
    a kernel on the wrong Node and deadlocked the fork."""
    probe = "import sys, synth.cli, synth.errors; sys.exit('jsii' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], cwd=ROOT, timeout=120).returncode == 0
