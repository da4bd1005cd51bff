"""Strict schema validation of synthesized Kubernetes manifests, offline.

Built-in kinds go through `kubernetes_validate`'s Python API in strict mode for the cluster's
version (its command line only warns on an apiVersion it does not know, such as a removed one; the
API raises). Custom objects are validated against their CRD's `openAPIV3Schema` from `crds/`,
made strict the way the API server's strict field validation is: an unknown field is an error
unless the schema preserves unknown fields there.

Usage: python -m tools.kube_validate [dist] [--version 1.35]
"""

from __future__ import annotations

import argparse
import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
CRD_DIR = ROOT / "crds"


class CrdLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader that reads YAML 1.1's `=` value scalar (used in some CRD enums) as the string '='.

    libyaml's parser when PyYAML has it (the same documents, about 7x faster on the 2 MB of CRDs)."""


CrdLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def load_crd(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=CrdLoader)  # noqa: S506 - SafeLoader subclass


def strict_schema(node: Any) -> Any:
    """Copy of an openAPIV3Schema where objects with declared properties reject unknown ones."""
    if isinstance(node, list):
        return [strict_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    copy = {key: strict_schema(value) for key, value in node.items()}
    if "properties" in node and "additionalProperties" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        copy["additionalProperties"] = False
    return copy


@cache
def crd_validators() -> dict[tuple[str, str], jsonschema.protocols.Validator]:
    """(apiVersion, kind) -> validator for every served version of every CRD in crds/."""
    validators = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        crd = load_crd(path)
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served", True):
                schema = strict_schema(version["schema"]["openAPIV3Schema"])
                validators[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return validators


def crd_groups() -> set[str]:
    return {api_version.split("/")[0] for api_version, _ in crd_validators()}


def _path(parts: Any) -> str:
    return ".".join(str(part) for part in parts) or "(root)"


def validate_object(document: dict[str, Any], kubernetes_version: str) -> list[str]:
    """Problems with one object, each naming the field; empty when valid."""
    api_version, kind = document.get("apiVersion", ""), document.get("kind", "")
    if "/" in api_version and api_version.split("/")[0] in crd_groups():
        validator = crd_validators().get((api_version, kind))
        if validator is None:
            return [f"{api_version} {kind} is not served by the CRDs in crds/"]
        return [f"{_path(error.absolute_path)}: {error.message}" for error in validator.iter_errors(document)]
    try:
        kubernetes_validate.validate(document, kubernetes_version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{api_version} {kind} does not exist in Kubernetes {kubernetes_version}"]
    except kubernetes_validate.ValidationError as error:
        return [f"{_path(error.absolute_path)}: {error.message}"]
    return []


def validate_file(path: Path, kubernetes_version: str) -> list[str]:
    problems = []
    for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if not document:
            continue
        name = f"{document.get('kind')}/{document.get('metadata', {}).get('name')}"
        problems += [f"{path}: {name}: {problem}" for problem in validate_object(document, kubernetes_version)]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.kube_validate", description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, nargs="?", default=ROOT / "dist")
    parser.add_argument("--version", default="1.35", help="Kubernetes minor version to validate against")
    args = parser.parse_args(argv)
    problems = [problem for path in sorted(args.directory.rglob("*.yaml")) for problem in validate_file(path, args.version)]
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
