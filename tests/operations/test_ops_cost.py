"""`ops cost report`: Cost Explorer's spend by week and service against the estimate and the budget,
run against moto's Cost Explorer, which answers `get_cost_and_usage` with results queued through its
documented control endpoint (moto 5.2, moto/ce/models.py `get_cost_and_usage`:
POST /moto-api/static/ce/cost-and-usage-results; each distinct request takes the next result)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from envspec import Names
from ops.cost.report import OTHER, weeks_ending
from tests.conftest import SPECS, Synthesis
from tests.operations.conftest import ENV, Recording
from tests.operations.test_ops_cli import no_credentials_env, ops

EC2 = "Amazon Elastic Compute Cloud - Compute"
RDS = "Amazon Relational Database Service"
TAG = f"Environment${ENV}"


def _day(day: dt.date, groups: list[tuple[str, str, float]]) -> dict[str, Any]:
    return {
        "TimePeriod": {"Start": day.isoformat(), "End": (day + dt.timedelta(days=1)).isoformat()},
        "Total": {},
        "Groups": [
            {"Keys": [service, tag], "Metrics": {"UnblendedCost": {"Amount": str(amount), "Unit": "USD"}}}
            for service, tag, amount in groups
        ],
        "Estimated": False,
    }


def _queue(*results: dict[str, Any]) -> None:
    """Queued per account: the environment's, which the CLI's credentials resolve to (MOTO_ACCOUNT_ID)."""
    response = requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/ce/cost-and-usage-results",
        json={"results": list(results), "account_id": SPECS[ENV].aws.account_id},
        timeout=10,
    )
    assert response.status_code == 201


def _body(entry: dict[str, Any]) -> dict[str, Any]:
    body = base64.b64decode(entry["body"]) if entry.get("body_encoded") else entry["body"]
    return json.loads(body)


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def test_weeks_end_yesterday_and_do_not_overlap() -> None:
    weeks = weeks_ending(dt.date(2026, 12, 1), 4)
    assert [(w.start.isoformat(), w.end.isoformat()) for w in weeks] == [
        ("2026-11-03", "2026-11-10"),
        ("2026-11-10", "2026-11-17"),
        ("2026-11-17", "2026-11-24"),
        ("2026-11-24", "2026-12-01"),
    ]
    assert weeks[-1].label == "11-24..11-30"


def test_report_sums_days_into_weeks_by_service_and_keeps_untagged_cost_apart(
    recording: Recording, run, names: Names, tmp_path: Path
) -> None:
    weeks = weeks_ending(_today(), 4)
    first, last = weeks[0].start, weeks[-1].start
    # Two pages: the report must follow NextPageToken.
    page_one = {
        "ResultsByTime": [_day(first, [(EC2, TAG, 10.0), (RDS, TAG, 5.0)])],
        "NextPageToken": "page-2",
        "DimensionValueAttributes": [],
    }
    page_two = {
        "ResultsByTime": [
            _day(last, [(EC2, TAG, 20.0), (RDS, TAG, 8.5), ("Tax", "Environment$", 3.0)]),
            _day(last + dt.timedelta(days=6), [(EC2, TAG, 20.0), ("AWS Support", "Environment$staging", 1.0)]),
        ],
        "DimensionValueAttributes": [],
    }
    _queue(page_one, page_two)
    result = run("cost", "report", "--env", ENV, "--terraform-outdir", str(tmp_path / "none"))
    assert result.code == 0, result.err
    rows = {line.split("  ")[0].strip(): line.split() for line in result.out.splitlines() if line.startswith(("Amazon", "total", "("))}
    assert rows[EC2][-4:] == ["$10.00", "$0.00", "$0.00", "$40.00"]
    assert rows[RDS][-4:] == ["$5.00", "$0.00", "$0.00", "$8.50"]
    assert rows[OTHER][-4:] == ["$0.00", "$0.00", "$0.00", "$4.00"]
    assert rows["total"][-4:] == ["$15.00", "$0.00", "$0.00", "$52.50"]
    budget = SPECS[ENV].cost.monthly_budget_usd
    run_rate = 52.5 / 7 * 30.4
    assert f"last week, as a month  ${run_rate:,.2f}" in result.out
    assert f"monthly budget         ${budget:,.2f} ({run_rate / budget:.0%} of it at this rate)" in result.out
    assert "estimate (make cost)   not available: run `make cost`" in result.out

    calls = [_body(entry) for entry in recording.entries() if "GetCostAndUsage" in json.dumps(entry.get("headers", {}))]
    assert [call.get("NextPageToken") for call in calls] == [None, "page-2"]
    call = calls[0]
    assert call["Granularity"] == "DAILY" and call["Metrics"] == ["UnblendedCost"]
    assert call["GroupBy"] == [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "TAG", "Key": "Environment"}]
    assert call["TimePeriod"] == {"Start": first.isoformat(), "End": _today().isoformat()}
    assert names.tags()["Environment"] == ENV  # the tag the provider's default_tags set (stacks/base.py)


def test_report_compares_with_the_estimate_of_the_synthesis(recording: Recording, run, synthesis: Synthesis) -> None:
    from tools.cost.estimate import estimate_all

    expected = estimate_all(synthesis.terraform_dir, {ENV: SPECS[ENV]}, [ENV])[ENV]
    daily = expected.high / 30.4 * 1.5  # half again above the ceiling
    last = weeks_ending(_today(), 1)[0]
    _queue(
        {"ResultsByTime": [_day(last.start + dt.timedelta(days=i), [(EC2, TAG, daily)]) for i in range(7)], "DimensionValueAttributes": []}
    )
    result = run("cost", "report", "--env", ENV, "--weeks", "1", "--format", "markdown", "--terraform-outdir", str(synthesis.terraform_dir))
    assert result.code == 0, result.err
    assert f"- estimate (make cost): ${expected.low:,.2f} - ${expected.high:,.2f}" in result.out
    assert "spending above the estimate's ceiling" in result.out
    assert f"| {EC2} | ${daily * 7:,.2f} |" in result.out


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (("--env", "prod"), 2, "error: environments/prod.yaml: unknown environment 'prod' (known: development, production, staging)\n"),
        (
            ("--env", "production", "--weeks", "0"),
            2,
            "error: --weeks: must be 1 to 52 (got 0); Cost Explorer keeps about a year of daily data\n",
        ),
    ],
)
def test_bad_input_is_one_error_line(argv: tuple[str, ...], code: int, message: str) -> None:
    result = ops("cost", "report", *argv)
    assert (result.returncode, result.stderr, result.stdout) == (code, message, "")


def test_missing_credentials_are_one_error_line(tmp_path: Path) -> None:
    result = ops("cost", "report", "--env", "production", env=no_credentials_env(tmp_path))
    assert result.returncode == 3
    assert result.stderr.startswith("error: no AWS credentials found") and len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr
