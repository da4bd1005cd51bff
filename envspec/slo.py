"""Service-level objectives of the user-facing components, and the burn-rate table their alerts use.

Each objective is a ratio: the share of good requests over the period (30 days by default) must stay
at or above the target. Availability: requests not answered 5xx. Latency: requests answered within
`threshold_seconds` (the p95 under 2 s of the original plan, stated as "95% of requests within 2 s",
so it is a ratio and has an error budget like availability). The error budget is `1 - target`.

The alerts are the Google SRE Workbook's multiwindow, multi-burn-rate alerts ("Alerting on SLOs",
table 5-8): each row spends a share of the period's budget within its long window, confirmed by a
short window of a twelfth of it so the alert stops soon after the burn does. A burn rate is that share
times the period over the window: 2% of a 30-day budget in 1 hour is 14.4 times the rate that spends
the budget exactly in 30 days. Prometheus can only compute a window it keeps samples for, so the
loader refuses a retention shorter than the longest window (`slo_problems`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MINUTES = {"m": 1, "h": 60, "d": 24 * 60}


def minutes(window: str) -> int:
    """`5m`, `6h`, `3d` in minutes."""
    return int(window[:-1]) * MINUTES[window[-1]]


@dataclass(frozen=True)
class BurnRateWindow:
    """A row of the Workbook's table: alert when `budget_percent` of the period's budget is spent
    within `long` (and the burn still goes on over `short`)."""

    long: str
    short: str
    budget_percent: Decimal
    severity: Literal["page", "ticket"]

    def burn_rate(self, period_days: int) -> Decimal:
        return self.budget_percent / 100 * period_days * MINUTES["d"] / minutes(self.long)


# SRE Workbook, "Alerting on SLOs", table 5-8 (recommended parameters for a 99.9% SLO over 30 days).
BURN_RATE_WINDOWS = (
    BurnRateWindow("1h", "5m", Decimal(2), "page"),
    BurnRateWindow("6h", "30m", Decimal(5), "page"),
    BurnRateWindow("1d", "2h", Decimal(10), "ticket"),
    BurnRateWindow("3d", "6h", Decimal(10), "ticket"),
)
# Every window a recording rule computes, shortest first.
SLI_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
LONGEST_WINDOW_DAYS = max(minutes(window) for window in SLI_WINDOWS) // MINUTES["d"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Objective(_Strict):
    target_percent: Decimal = Field(
        default=Decimal("99.9"),
        description="Share of good requests over the period, in percent; below 100 (100% leaves no error budget).",
    )

    @field_validator("target_percent")
    @classmethod
    def _leaves_a_budget(cls, value: Decimal) -> Decimal:
        if not Decimal(50) <= value < Decimal(100):
            raise ValueError(
                f"{value} is not an objective: it must be at least 50 and below 100 "
                "(100% leaves no error budget, so every single failed request would page)"
            )
        return value

    @property
    def error_budget(self) -> Decimal:
        """The share of requests allowed to be bad (0.001 for 99.9%)."""
        return (100 - self.target_percent) / 100


class LatencyObjective(Objective):
    target_percent: Decimal = Field(
        default=Decimal(95),
        description="Share of requests answered within `threshold_seconds` over the period, in percent; below 100.",
    )
    threshold_seconds: Decimal = Field(
        default=Decimal(2),
        gt=0,
        le=60,
        description="A request slower than this is bad. Must be a bucket boundary (`le`) of the component's "
        "`http_request_duration_seconds` histogram: the SLI counts the bucket, it does not interpolate.",
    )


class ComponentObjectives(_Strict):
    availability: Objective = Field(default_factory=Objective, description="Requests not answered with a 5xx status.")
    latency: LatencyObjective = Field(default_factory=LatencyObjective, description="Requests answered within the threshold.")


class ServiceLevels(_Strict):
    """Objectives per user-facing component (both serve HTTP and export `http_requests_total` and
    `http_request_duration_seconds`); the AI worker serves no user request and has none."""

    period_days: int = Field(default=30, ge=7, le=90, description="The rolling period the objectives and the error budget cover.")
    backend: ComponentObjectives | None = Field(
        default_factory=ComponentObjectives, description="Objectives of the backend API; null: no SLO alerts for it."
    )
    frontend: ComponentObjectives | None = Field(
        default_factory=ComponentObjectives, description="Objectives of the frontend; null: no SLO alerts for it."
    )


def slo_problems(retention_days: int) -> list[tuple[tuple[str, ...], str]]:
    """What the loader refuses once the spec parsed: a Prometheus that forgets samples the longest
    SLO window needs (a `rate()` over 3d with 2 days of samples is a 2-day rate, and the alert that
    reads it fires late)."""
    if retention_days < LONGEST_WINDOW_DAYS:
        return [
            (
                ("monitoring", "prometheus_retention_days"),
                f"{retention_days} days is shorter than the longest SLO alert window ({LONGEST_WINDOW_DAYS} days): "
                "Prometheus would compute it from fewer samples than it needs",
            )
        ]
    return []
