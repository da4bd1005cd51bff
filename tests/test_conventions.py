"""One error type per layer and one exit-code convention (envspec/exit_codes.py, docs/conventions.md).

- Each layer raises its own type: `SpecError` (envspec), `SynthesisError` (synth, stacks, charts),
  `OpsError` (ops), `ToolError` (tools); kinds of them subclass it.
- Every command answers bad input with one `error:` line, exit 2 and no traceback.
- An error raised while building a construct names the construct's path.
- Construct parameters after the construct id are keyword-only (the AWS CDK's `scope, id, *, props`):
  `Thing(self, "thing", settings=..., names=...)` reads without its signature.
"""

from __future__ import annotations

import ast
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


# --- Keyword-only construct parameters ---
# A class is a construct when a base is one of these, a class of the framework packages, or another construct of the project.
CONSTRUCT_ROOTS = {"Construct", "Chart", "TerraformStack"}
FRAMEWORK_PACKAGES = ("constructs", "cdktf", "cdk8s", "imports")
# What may stay positional: the scope, then the construct id, or the spec a stack or chart derives its id from.
POSITIONAL_SECOND = {"construct_id", "spec"}
# Not yet keyword-only; remove an entry when its signature is converted.
POSITIONAL_FOR_NOW: set[str] = set()


def positional_construct_parameters(sources: dict[str, str]) -> dict[str, list[str]]:
    """`path::name` -> positional parameters of every construct constructor, and every module function whose
    first parameter is the scope (`scope` or a `Construct`), that takes more positionally than the scope and the id (or spec)."""
    classes: dict[str, tuple[str, ast.ClassDef, dict[str, str]]] = {}
    builders: list[tuple[str, ast.FunctionDef]] = []
    for path, source in sources.items():
        tree = ast.parse(source)
        imported = {
            alias.asname or alias.name: node.module or ""
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        imported |= {
            (alias.asname or alias.name).split(".")[0]: alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        classes |= {node.name: (path, node, imported) for node in tree.body if isinstance(node, ast.ClassDef)}
        builders += [(path, node) for node in tree.body if isinstance(node, ast.FunctionDef)]

    def is_construct(base: ast.expr, imported: dict[str, str], known: set[str]) -> bool:
        while isinstance(base, ast.Attribute):  # k8s.KubeDeployment
            base = base.value
        if not isinstance(base, ast.Name):
            return False
        return base.id in CONSTRUCT_ROOTS or base.id in known or imported.get(base.id, "").startswith(FRAMEWORK_PACKAGES)

    constructs: set[str] = set()
    while grown := {
        name
        for name, (_, node, imported) in classes.items()
        if name not in constructs and any(is_construct(b, imported, constructs) for b in node.bases)
    }:
        constructs |= grown
    found = {}
    for name in constructs:
        path, node, _ = classes[name]
        for init in (item for item in node.body if isinstance(item, ast.FunctionDef) and item.name == "__init__"):
            positional = [arg.arg for arg in init.args.posonlyargs + init.args.args]
            if positional[3:] or not set(positional[2:]) <= POSITIONAL_SECOND:
                found[f"{path}::{name}"] = positional
    for path, function in builders:
        positional = [arg.arg for arg in function.args.posonlyargs + function.args.args]
        first = function.args.args[0] if function.args.args else None
        takes_scope = first is not None and (
            first.arg == "scope" or (isinstance(first.annotation, ast.Name) and first.annotation.id == "Construct")
        )
        if takes_scope and positional[1:] not in ([], ["construct_id"]):
            found[f"{path}::{function.name}"] = positional
    return found


def _project_sources() -> dict[str, str]:
    paths = [*ROOT.glob("stacks/**/*.py"), *ROOT.glob("charts/**/*.py")]
    return {str(path.relative_to(ROOT)): path.read_text(encoding="utf-8") for path in sorted(paths)}


def test_construct_parameters_after_the_id_are_keyword_only() -> None:
    found = positional_construct_parameters(_project_sources())
    new = {name: params for name, params in found.items() if name not in POSITIONAL_FOR_NOW}
    assert not new, f"put a `*` after the construct id (scope, construct_id, *, ...): {new}"
    converted = POSITIONAL_FOR_NOW - set(found)
    assert not converted, f"keyword-only now: remove from POSITIONAL_FOR_NOW {sorted(converted)}"


def test_the_keyword_only_check_finds_positional_construct_parameters() -> None:
    """The check above reports a constructor, a stack and a construct-building function that take more than
    the scope and id positionally, through a project base class too, and accepts their keyword-only forms."""
    positional = """
from constructs import Construct
from stacks.base import EnvironmentStack
class Key(Construct):
    def __init__(self, scope: Construct, construct_id: str, names, purpose): ...
class Base(Construct): ...
class Derived(Base):
    def __init__(self, scope, construct_id, names, *, key): ...
class DataStack(EnvironmentStack):
    def __init__(self, scope, spec, network): ...
def log_group(scope: Construct, construct_id: str, name: str): ...
def registration(scope: Construct, names): ...
def monitor(scope, addon, *, interval): ...
class Props:
    def __init__(self, name, key): ...
"""
    base = """
from cdktf import TerraformStack
class EnvironmentStack(TerraformStack):
    def __init__(self, scope, spec, *, names=None): ...
"""
    assert positional_construct_parameters({"base.py": base, "x.py": positional}) == {
        "x.py::Key": ["self", "scope", "construct_id", "names", "purpose"],
        "x.py::Derived": ["self", "scope", "construct_id", "names"],
        "x.py::DataStack": ["self", "scope", "spec", "network"],
        "x.py::log_group": ["scope", "construct_id", "name"],
        "x.py::registration": ["scope", "names"],
        "x.py::monitor": ["scope", "addon"],
    }
    keyword_only = positional.replace(", names, purpose)", ", *, names, purpose)").replace(", names, *, key)", ", *, names, key)")
    keyword_only = keyword_only.replace(", spec, network)", ", spec, *, network)").replace(", name: str)", ", *, name: str)")
    keyword_only = keyword_only.replace(", names)", ", *, names)").replace("scope, addon, *,", "scope, *, addon,")
    assert positional_construct_parameters({"base.py": base, "x.py": keyword_only}) == {}
