"""`python -m tools.cost`: the monthly estimate of every environment, from `cdktf.out/`.

Usage: python -m tools.cost [--env NAME ...] [--terraform-outdir DIR] [--details] [--format text|markdown]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from envspec import DEFAULT_DIRECTORY, SpecError, load_environments
from envspec.exit_codes import BAD_INPUT, FAILED, OK
from tools.cost.estimate import CostError, Estimate, estimate_all
from tools.errors import report

ROOT = Path(__file__).resolve().parents[2]


def usd(value: float) -> str:
    return f"${value:,.2f}"


def span(low: float, high: float) -> str:
    return usd(low) if abs(high - low) < 0.005 else f"{usd(low)} - {usd(high)}"


def render_text(estimates: dict[str, Estimate], details: bool) -> str:
    out: list[str] = []
    for env, item in estimates.items():
        out += [f"== {env}: {span(item.low, item.high)} a month (prices read {', '.join(item.price_dates)})", ""]
        width = max(len(stack) for stack in item.stacks())
        out += [f"  {stack.ljust(width)}  {span(low, high)}" for stack, (low, high) in item.stacks().items()]
        out += ["", "  biggest line items:"]
        out += [f"    {span(line.low, line.high):>24}  {line.address}: {line.description}" for line in item.biggest()]
        if details:
            out += ["", "  every priced line:"]
            out += [f"    {span(line.low, line.high):>24}  {line.address}: {line.description}" for line in item.priced]
            out += ["", "  free or usage-only:"]
            out += [
                f"    {line.status:>10}  {line.address}: {line.description}" for line in item.lines if line.status in ("free", "usage-only")
            ]
        if item.not_priced:
            out += ["", "  NOT PRICED (not counted in the total):"]
            out += [f"    {line.address}: {line.description}" for line in item.not_priced]
        out.append("")
    out.append("Estimates use on-demand prices from tools/cost/prices/<region>.yaml and the usage assumptions in each")
    out.append("environment's `cost.usage`; the range runs from minimum scale to the autoscaling ceilings (docs/cost.md).")
    return "\n".join(out) + "\n"


def render_markdown(estimates: dict[str, Estimate]) -> str:
    rows = ["| environment | monthly estimate | biggest line items | prices read |", "|---|---|---|---|"]
    for env, item in estimates.items():
        biggest = "; ".join(f"`{line.address}` {usd(line.high)}" for line in item.biggest(3))
        rows.append(f"| {env} | {span(item.low, item.high)} | {biggest} | {', '.join(item.price_dates)} |")
    return "\n".join(rows) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.cost", description=__doc__.splitlines()[0])
    parser.add_argument("--env", action="append", dest="envs", metavar="NAME", help="only this environment (repeatable)")
    parser.add_argument("--terraform-outdir", type=Path, default=ROOT / "cdktf.out", help="synthesized Terraform (default cdktf.out)")
    parser.add_argument("--environments-dir", type=Path, default=DEFAULT_DIRECTORY, help="folder of <env>.yaml files")
    parser.add_argument("--details", action="store_true", help="list every line, free and usage-only ones too")
    parser.add_argument("--format", choices=("text", "markdown"), default="text")
    args = parser.parse_args(argv)
    try:
        specs = load_environments(args.environments_dir, only=args.envs)
        estimates = estimate_all(args.terraform_outdir, specs, args.envs)
    except SpecError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return BAD_INPUT
    except CostError as error:
        return report(error, error.exit_code)
    sys.stdout.write(render_markdown(estimates) if args.format == "markdown" else render_text(estimates, args.details))
    return FAILED if any(item.not_priced for item in estimates.values()) else OK


if __name__ == "__main__":
    sys.exit(main())
