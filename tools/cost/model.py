"""What the estimate is made of: resources read from the synthesized stacks, and priced lines."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from envspec import EnvironmentSpec, Names
from tools.cost.prices import HOURS_PER_MONTH, Price, price_book

Status = Literal["priced", "free", "usage-only", "not priced"]


@dataclass(frozen=True)
class Resource:
    stack: str
    type: str
    name: str
    body: dict[str, Any]
    region: str

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"


@dataclass(frozen=True)
class Line:
    """One cost of one resource (a resource may have several: hours, storage, requests)."""

    stack: str
    address: str
    type: str
    status: Status
    description: str
    low: float = 0.0
    high: float = 0.0
    skus: tuple[str, ...] = ()


def provider_regions(document: dict[str, Any]) -> dict[str, str]:
    """`aws` / `aws.<alias>` -> region, from the stack's provider blocks."""
    regions = {}
    for block in document.get("provider", {}).get("aws", []):
        key = f"aws.{block['alias']}" if block.get("alias") else "aws"
        regions[key] = block.get("region", "")
    return regions


def read_stack(path: Path) -> list[Resource]:
    document = json.loads(path.read_text(encoding="utf-8"))
    stack = path.parent.name
    regions = provider_regions(document)
    resources = []
    for kind, items in sorted(document.get("resource", {}).items()):
        for name, body in sorted(items.items()):
            provider = body.get("provider", "aws")
            resources.append(Resource(stack, kind, name, body, regions.get(provider, regions.get("aws", ""))))
    return resources


@dataclass
class Context:
    """One environment: its spec, names, every resource of its stacks, and the price books."""

    spec: EnvironmentSpec
    names: Names
    resources: list[Resource]
    used: dict[tuple[str, str], Price] = field(default_factory=dict)

    def price(self, region: str, sku: str) -> float:
        row = price_book(region).get(sku)
        self.used[(region, sku)] = row
        return row.price

    def hourly(self, region: str, sku: str, count: float = 1) -> float:
        return self.price(region, sku) * HOURS_PER_MONTH * count

    def of_type(self, kind: str) -> list[Resource]:
        return [resource for resource in self.resources if resource.type == kind]

    def find(self, stack: str, reference: str) -> Resource | None:
        """The resource a `${type.name.attr}` reference in `stack` names."""
        parts = reference.removeprefix("${").removesuffix("}").split(".")
        if len(parts) < 2:
            return None
        return next((r for r in self.resources if r.stack == stack and r.type == parts[0] and r.name == parts[1]), None)
