"""The estimate of each environment: every resource of its stacks priced, free, usage-only or not priced."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from envspec import EnvironmentSpec, names_for
from tools.cost.catalog import FREE, USAGE_ONLY
from tools.cost.cluster import cluster_lines
from tools.cost.model import Context, Line, Resource, read_stack
from tools.cost.prices import MissingPrice, Price
from tools.cost.rules import RULES
from tools.errors import ToolError


class CostError(ToolError):
    """The estimate cannot be made (no synthesized output, an unknown environment)."""


@dataclass(frozen=True)
class Estimate:
    env: str
    lines: list[Line]
    prices: dict[tuple[str, str], Price]

    @property
    def priced(self) -> list[Line]:
        return [item for item in self.lines if item.status == "priced"]

    @property
    def not_priced(self) -> list[Line]:
        return [item for item in self.lines if item.status == "not priced"]

    @property
    def low(self) -> float:
        return sum(item.low for item in self.priced)

    @property
    def high(self) -> float:
        return sum(item.high for item in self.priced)

    def stacks(self) -> dict[str, tuple[float, float]]:
        totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for item in self.lines:
            totals[item.stack][0] += item.low
            totals[item.stack][1] += item.high
        return {stack: (low, high) for stack, (low, high) in sorted(totals.items())}

    def biggest(self, count: int = 5) -> list[Line]:
        return sorted(self.priced, key=lambda item: (-item.high, item.address))[:count]

    @property
    def price_dates(self) -> list[str]:
        return sorted({row.read for row in self.prices.values()})


def price_resource(resource: Resource, ctx: Context) -> list[Line]:
    rule = RULES.get(resource.type)
    if rule is not None:
        try:
            return rule(resource, ctx)
        except MissingPrice as missing:
            return [Line(resource.stack, resource.address, resource.type, "not priced", str(missing))]
    for status, catalog in (("free", FREE), ("usage-only", USAGE_ONLY)):
        if resource.type in catalog:
            return [Line(resource.stack, resource.address, resource.type, status, catalog[resource.type])]  # type: ignore[arg-type]
    return [Line(resource.stack, resource.address, resource.type, "not priced", f"no price rule for {resource.type}")]


def environment_of(stack: str, envs: list[str]) -> str | None:
    """The environment a stack id `<env>-<layer...>` belongs to (the longest matching name)."""
    matching = [env for env in envs if stack.startswith(f"{env}-")]
    return max(matching, key=len) if matching else None


def stack_files(terraform_dir: Path) -> dict[str, Path]:
    folder = terraform_dir / "stacks"
    return {path.parent.name: path for path in sorted(folder.glob("*/cdk.tf.json"))} if folder.is_dir() else {}


def estimate(spec: EnvironmentSpec, resources: list[Resource]) -> Estimate:
    ctx = Context(spec, names_for(spec), resources)
    lines = [item for resource in resources for item in price_resource(resource, ctx)]
    clusters = [resource for resource in resources if resource.type == "aws_eks_cluster"]
    if clusters:
        try:
            lines += cluster_lines(ctx, clusters[0].stack)
        except MissingPrice as missing:
            lines.append(Line(clusters[0].stack, "kubernetes", "kubernetes", "not priced", str(missing)))
    return Estimate(spec.name, lines, dict(ctx.used))


def estimate_all(terraform_dir: Path, specs: dict[str, EnvironmentSpec], only: list[str] | None = None) -> dict[str, Estimate]:
    files = stack_files(terraform_dir)
    if not files:
        raise CostError(
            f"no synthesized stacks under {terraform_dir}/stacks: run `make synth` (or `python -O -m synth --target terraform`) first"
        )
    by_env: dict[str, list[Resource]] = defaultdict(list)
    for stack, path in files.items():
        env = environment_of(stack, list(specs))
        if env is not None and (only is None or env in only):
            by_env[env] += read_stack(path)
    for env in only or []:
        if env not in by_env:
            raise CostError(f"no synthesized stacks of environment '{env}' under {terraform_dir}/stacks")
    return {env: estimate(specs[env], resources) for env, resources in sorted(by_env.items())}
