"""The monthly estimate before and after a change, as Markdown for the pull-request summary.

Each side is estimated from its own synthesis and its own environment files (read with this
checkout's spec loader, so a change of a usage assumption shows too); a side whose files no longer
load is estimated with the head's. Lines are matched by stack, address and description.
"""

from __future__ import annotations

from pathlib import Path

from envspec import EnvironmentSpec, SpecError, load_environments
from tools.cost.estimate import CostError, Estimate, estimate_all
from tools.cost.model import Line

CENT = 0.005


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _span(low: float, high: float) -> str:
    return _money(low) if abs(high - low) < CENT else f"{_money(low)} - {_money(high)}"


def _signed(value: float) -> str:
    return f"{'+' if value >= 0 else '-'}${abs(value):,.2f}"


def _delta(before: tuple[float, float], after: tuple[float, float]) -> str:
    low, high = after[0] - before[0], after[1] - before[1]
    return _signed(low) if abs(high - low) < CENT else f"{_signed(low)} / {_signed(high)} (min / ceiling)"


def _specs(directory: Path, fallback: dict[str, EnvironmentSpec]) -> dict[str, EnvironmentSpec]:
    try:
        return load_environments(directory) if directory.is_dir() else fallback
    except SpecError:
        return fallback


def estimates(terraform_dir: Path, environments_dir: Path, fallback: dict[str, EnvironmentSpec]) -> dict[str, Estimate]:
    try:
        return estimate_all(terraform_dir, _specs(environments_dir, fallback))
    except CostError:
        return {}


def _keyed(item: Estimate | None) -> dict[tuple[str, str, str], Line]:
    return {} if item is None else {(line.stack, line.address, line.description): line for line in item.priced}


def _stack_rows(env: str, base: Estimate | None, head: Estimate | None) -> list[str]:
    before = base.stacks() if base else {}
    after = head.stacks() if head else {}
    old, new = _keyed(base), _keyed(head)
    rows = []
    for stack in sorted(set(before) | set(after)):
        was, now = before.get(stack, (0.0, 0.0)), after.get(stack, (0.0, 0.0))
        if abs(was[0] - now[0]) < CENT and abs(was[1] - now[1]) < CENT:
            continue
        moved = []
        for key in set(old) | set(new):
            if key[0] != stack:
                continue
            a, b = old.get(key), new.get(key)
            change = (b.high if b else 0.0) - (a.high if a else 0.0)
            if abs(change) >= CENT:
                moved.append((abs(change), key, change))
        moved.sort(key=lambda item: (-item[0], item[1]))
        named = "; ".join(f"`{key[1]}` {key[2]} {_signed(change)}" for _, key, change in moved[:3])
        rows.append(f"| `{stack}` | {_span(*was)} | {_span(*now)} | {_delta(was, now)} | {named} |")
    return rows


def cost_section(base: dict[str, Estimate], head: dict[str, Estimate]) -> list[str]:
    lines = ["### Monthly cost estimate", ""]
    if not head:
        return [*lines, "No estimate: the head has no synthesized stacks."]
    lines += ["| environment | before | after | change | biggest line items (after) |", "|---|---|---|---|---|"]
    stack_rows: list[str] = []
    for env in sorted(set(base) | set(head)):
        was, now = base.get(env), head.get(env)
        before = (was.low, was.high) if was else (0.0, 0.0)
        after = (now.low, now.high) if now else (0.0, 0.0)
        biggest = "; ".join(f"`{line.address}` {_money(line.high)}" for line in now.biggest(3)) if now else ""
        lines.append(
            f"| {env} | {_span(*before) if was else '—'} | {_span(*after) if now else '—'} | {_delta(before, after)} | {biggest} |"
        )
        stack_rows += _stack_rows(env, was, now)
    lines.append("")
    if stack_rows:
        lines += ["| stack | before | after | change | line items that changed most |", "|---|---|---|---|---|", *stack_rows]
    else:
        lines.append("No change to the monthly estimate of any stack.")
    unpriced = [f"`{line.address}` ({env})" for env, item in head.items() for line in item.not_priced]
    if unpriced:
        lines += ["", "> [!WARNING]", f"> Not priced, so not in the totals: {', '.join(unpriced)}"]
    dates = sorted({date for item in head.values() for date in item.price_dates})
    lines += ["", f"On-demand prices read {', '.join(dates)} (tools/cost/prices/); ranges run from minimum scale to the ceilings."]
    return lines
