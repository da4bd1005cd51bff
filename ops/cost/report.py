"""The weekly cost report: what Cost Explorer says an environment spent, week by week and by service,
against the estimate of the synthesized stacks (tools.cost) and the account's monthly budget.

Cost Explorer answers by day (`get_cost_and_usage`, DAILY, UnblendedCost), grouped by SERVICE and by
the `Environment` cost allocation tag the provider's default tags put on every resource
(`Names.tags()`); days are summed into weeks ending yesterday (the current day is incomplete). Cost
with another or no `Environment` tag (support, tax, untagged resources) is shown apart. The API is
global: its endpoint is ce.us-east-1.amazonaws.com whatever the environment's region.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envspec.naming import ENVIRONMENT_TAG, names_for
from ops.console import table
from ops.context import Target

TAG_KEY = ENVIRONMENT_TAG
METRIC = "UnblendedCost"
CE_REGION = "us-east-1"
DAYS_PER_MONTH = 30.4
OTHER = "(not tagged for this environment)"


@dataclass(frozen=True)
class Week:
    start: dt.date
    end: dt.date  # exclusive

    @property
    def label(self) -> str:
        return f"{self.start:%m-%d}..{self.end - dt.timedelta(days=1):%m-%d}"


def weeks_ending(today: dt.date, count: int) -> list[Week]:
    end = today  # exclusive: the last full day is yesterday
    return [Week(end - dt.timedelta(days=7 * (count - index)), end - dt.timedelta(days=7 * (count - index - 1))) for index in range(count)]


@dataclass
class Spend:
    """USD per (row, week index): rows are services of this environment, plus one row for the rest."""

    weeks: list[Week]
    cells: dict[str, list[float]]
    estimated: bool

    def total(self, index: int) -> float:
        return sum(values[index] for values in self.cells.values())

    def tagged(self, index: int) -> float:
        return sum(values[index] for row, values in self.cells.items() if row != OTHER)


def _pages(client: Any, request: dict[str, Any]) -> list[dict[str, Any]]:
    pages, token = [], None
    while True:
        response = client.get_cost_and_usage(**request, **({"NextPageToken": token} if token else {}))
        pages.append(response)
        token = response.get("NextPageToken")
        if not token:
            return pages


def read_spend(found: Target, today: dt.date, count: int) -> Spend:
    weeks = weeks_ending(today, count)
    tag_value = names_for(found.spec).tags()[TAG_KEY]
    request = {
        "TimePeriod": {"Start": weeks[0].start.isoformat(), "End": weeks[-1].end.isoformat()},
        "Granularity": "DAILY",
        "Metrics": [METRIC],
        "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "TAG", "Key": TAG_KEY}],
    }
    cells: dict[str, list[float]] = defaultdict(lambda: [0.0] * count)
    estimated = False
    for page in _pages(found.aws.client("ce", CE_REGION), request):
        for result in page.get("ResultsByTime", []):
            day = dt.date.fromisoformat(result["TimePeriod"]["Start"])
            index = next((i for i, week in enumerate(weeks) if week.start <= day < week.end), None)
            if index is None:
                continue
            estimated = estimated or bool(result.get("Estimated"))
            for group in result.get("Groups", []):
                service, tag = group["Keys"]
                row = service if tag == f"{TAG_KEY}${tag_value}" else OTHER
                cells[row][index] += float(group["Metrics"][METRIC]["Amount"])
    return Spend(weeks, dict(cells), estimated)


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def render(found: Target, spend: Spend, estimate: tuple[float, float] | None, markdown: bool) -> str:
    env, budget = found.env, found.spec.cost.monthly_budget_usd
    headers = ["service", *(week.label for week in spend.weeks)]
    order = sorted((row for row in spend.cells if row != OTHER), key=lambda row: -sum(spend.cells[row]))
    rows = [[row, *map(_usd, spend.cells[row])] for row in order]
    if OTHER in spend.cells:
        rows.append([OTHER, *map(_usd, spend.cells[OTHER])])
    rows.append(["total", *(_usd(spend.total(index)) for index in range(len(spend.weeks)))])
    last = spend.total(len(spend.weeks) - 1)
    run_rate = last / 7 * DAYS_PER_MONTH
    summary = [
        ("last week, as a month", _usd(run_rate)),
        ("monthly budget", f"{_usd(budget)} ({run_rate / budget:.0%} of it at this rate)"),
        ("estimate (make cost)", "not available: run `make cost`" if estimate is None else f"{_usd(estimate[0])} - {_usd(estimate[1])}"),
    ]
    if estimate is not None and run_rate > estimate[1]:
        summary.append(("note", "spending above the estimate's ceiling: check the biggest services against `make cost`"))
    if run_rate > budget:
        summary.append(("note", "above the monthly budget at last week's rate"))
    if spend.estimated:
        summary.append(("note", "Cost Explorer marks some days as estimated (not final)"))
    title = f"Weekly cost of {env} ({METRIC}, USD), Cost Explorer grouped by service and the {TAG_KEY} tag"
    if markdown:
        lines = [f"**{title}**", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        lines += ["", *(f"- {label}: {value}" for label, value in summary)]
        return "\n".join(lines)
    width = max(len(label) for label, _ in summary)
    body = table(headers, rows, align_right=range(1, len(headers)))
    return "\n".join([title, "", body, "", *(f"{label.ljust(width)}  {value}" for label, value in summary)])


def estimate_of(found: Target, terraform_dir: Path) -> tuple[float, float] | None:
    from tools.cost.estimate import CostError, estimate_all

    try:
        item = estimate_all(terraform_dir, {found.env: found.spec}, [found.env])[found.env]
    except CostError:
        return None
    return item.low, item.high
