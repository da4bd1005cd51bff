"""Kubernetes objects written as plain data: the strict schema tests check every field."""

from __future__ import annotations

from typing import Any

from cdk8s import ApiObject, ApiObjectMetadata, JsonPatch
from constructs import Construct


def manifest(
    scope: Construct,
    construct_id: str,
    api_version: str,
    kind: str,
    name: str,
    namespace: str | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    **body: Any,
) -> ApiObject:
    """An object with the given top-level fields (`spec=…`, `data=…`), in the order given."""
    obj = ApiObject(
        scope,
        construct_id,
        api_version=api_version,
        kind=kind,
        metadata=ApiObjectMetadata(name=name, namespace=namespace, labels=labels, annotations=annotations),
    )
    for field, value in body.items():
        obj.add_json_patch(JsonPatch.add(f"/{field}", value))
    return obj


def checkov_skips(*skips: tuple[str, str]) -> dict[str, str]:
    """checkov's skip annotations, each `CHECK=reason`."""
    return {f"checkov.io/skip{index}": f"{check}={reason}" for index, (check, reason) in enumerate(skips, start=1)}
