"""Error-budget rules of the PrometheusRule `ai-subsidy-slos`, from the spec's objectives (envspec/slo.py).

For each objective, recording rules give the share of bad requests (the SLI error ratio) over every
window of the SRE Workbook's multiwindow table, named as sloth names them,
`slo:sli_error:ratio_rate<window>{namespace, job, slo}`; `slo` is `availability` or `latency`. Bad
means answered 5xx (availability) or slower than the objective's threshold (latency: all requests
minus those in the threshold's histogram bucket). The ratio is taken of the rates over the window
itself, not averaged from shorter windows, so a quiet night does not weigh as much as a busy hour.

Two alerts per objective (Workbook, "Alerting on SLOs", 6: multiwindow, multi-burn-rate):
`ErrorBudgetFastBurn` pages (critical, impact users) when the long and the short window of either
page row burn faster than their rate; `ErrorBudgetSlowBurn` is a ticket (warning) for the ticket
rows. No `for`: the short window already stops a blip from alerting and ends the alert minutes after
the burn stops. A latency objective also has `SLOLatencyBucketMissing`: the SLI counts the
histogram bucket at the threshold, and a component without one would leave it empty for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from charts.observability import promql as q
from charts.observability.routing import USERS
from charts.observability.rules import Alert, Recording, RuleGroup
from charts.observability.severity import Severity
from envspec import Names
from envspec.naming import APP_NAMESPACE
from envspec.slo import BURN_RATE_WINDOWS, SLI_WINDOWS, BurnRateWindow, LatencyObjective, Objective, ServiceLevels
from envspec.topology import BACKEND, FRONTEND, Component

SLO_RULE = "ai-subsidy-slos"
FAST_BURN = "ErrorBudgetFastBurn"
SLOW_BURN = "ErrorBudgetSlowBurn"
SLI_ERROR = "slo:sli_error:ratio_rate{window}"
Kind = Literal["availability", "latency"]


def sli_error(window: str) -> str:
    return SLI_ERROR.format(window=window)


def le_matcher(seconds: Decimal) -> str:
    """The bucket boundary as every Prometheus writes its `le`: `2` as exposed in the text format
    (Prometheus 2) and `2.0` as Prometheus 3 normalizes it on ingestion (Prometheus 3.0 migration
    guide, "le and quantile label values")."""
    value = float(seconds)
    spellings = dict.fromkeys((f"{value:g}", repr(value)))
    return "~" + "|".join(spelling.replace(".", "\\\\.") for spelling in spellings)


@dataclass(frozen=True)
class ServiceLevelObjective:
    component: Component
    kind: Kind
    objective: Objective
    period_days: int

    @property
    def labels(self) -> dict[str, str]:
        return {"slo": self.kind}

    @property
    def target_text(self) -> str:
        return f"{self.objective.target_percent.normalize():f}%"

    def error_ratio(self, window: str) -> str:
        job = self.component.name
        if self.kind == "availability":
            errors = (
                f"sum by ({q.BY}) (rate({q.app(q.HTTP_REQUESTS, job=job, status='~5..')}[{window}])"
                f" or rate({q.app(q.HTTP_REQUESTS, job=job)}[{window}]) * 0)"
            )
            return f"{errors}\n/\nsum by ({q.BY}) (rate({q.app(q.HTTP_REQUESTS, job=job)}[{window}]))"
        fast = f"sum by ({q.BY}) (rate({q.app(q.HTTP_DURATION_BUCKET, job=job, le=le_matcher(self.latency_threshold))}[{window}]))"
        every = f"sum by ({q.BY}) (rate({q.app(q.HTTP_DURATION_BUCKET, job=job, le='+Inf')}[{window}]))"
        return f"1 - {fast}\n/\n{every}"

    def recordings(self) -> tuple[Recording, ...]:
        windows = (*SLI_WINDOWS, self.period)
        return tuple(Recording(sli_error(window), self.error_ratio(window), self.labels) for window in windows)

    @property
    def period(self) -> str:
        return f"{self.period_days}d"

    def selector(self, window: str) -> str:
        return q.selector(sli_error(window), namespace=APP_NAMESPACE, job=self.component.name, slo=self.kind)

    def threshold(self, row: BurnRateWindow) -> Decimal:
        """The error ratio that burns the budget at the row's rate."""
        return row.burn_rate(self.period_days) * self.objective.error_budget

    def _condition(self, row: BurnRateWindow) -> str:
        threshold = f"{self.threshold(row).normalize():f}"
        return f"(\n  {self.selector(row.long)} > {threshold}\nand\n  {self.selector(row.short)} > {threshold}\n)"

    def alert(self, severity: Literal["page", "ticket"]) -> Alert:
        rows = tuple(row for row in BURN_RATE_WINDOWS if row.severity == severity)
        what = "were answered 5xx" if self.kind == "availability" else f"took longer than {self.threshold_text}"
        page = severity == "page"
        burns = " or ".join(
            f"{row.burn_rate(self.period_days).normalize():f}x over {row.long} (confirmed over {row.short}, "
            f"{row.budget_percent:f}% of the budget in {row.long})"
            for row in rows
        )
        return Alert(
            name=FAST_BURN if page else SLOW_BURN,
            expr="\nor\n".join(self._condition(row) for row in rows),
            for_=None,
            severity=Severity.CRITICAL if page else Severity.WARNING,
            summary=f"{self.component.name} is spending its {self.kind} error budget {'fast' if page else 'steadily'}",
            description=(
                f"{{{{ $value | humanizePercentage }}}} of {{{{ $labels.job }}}} requests {what} over the long window, against "
                f"a {{{{ $labels.slo }}}} budget of {self._budget_text} (objective {self.target_text} over {self.period_days} days): "
                f"a burn rate over {burns}."
            ),
            meaning=f"the {self.period_days}-day error budget of an SLO burns "
            + " or ".join(f"{row.burn_rate(self.period_days).normalize():f}x over {row.long}" for row in rows),
            impact=USERS if page else None,
        )

    @property
    def latency_threshold(self) -> Decimal:
        if not isinstance(self.objective, LatencyObjective):
            raise TypeError(f"{self.component.name} {self.kind}: not a latency objective")
        return self.objective.threshold_seconds

    @property
    def threshold_text(self) -> str:
        return f"{self.latency_threshold.normalize():f}s"

    @property
    def _budget_text(self) -> str:
        return f"{(self.objective.error_budget * 100).normalize():f}%"


BUCKET_MISSING = "SLOLatencyBucketMissing"
BUCKET_MISSING_FOR = "30m"


def bucket_missing(slo: ServiceLevelObjective) -> Alert:
    """The latency SLI counts the threshold's bucket: without one it is empty and nothing can fire."""
    job = slo.component.name
    histogram = q.HTTP_DURATION_BUCKET
    return Alert(
        name=BUCKET_MISSING,
        expr=(
            f"count by ({q.BY}) ({q.app(histogram, job=job, le='+Inf')})\n"
            f"unless\ncount by ({q.BY}) ({q.app(histogram, job=job, le=le_matcher(slo.latency_threshold))})"
        ),
        for_=BUCKET_MISSING_FOR,
        severity=Severity.WARNING,
        summary=f"{job} has no {slo.threshold_text} latency bucket: its latency objective is not measured",
        description=(
            f"{{{{ $labels.job }}}} exports {histogram} ({{{{ $value }}}} series with le=+Inf) but no bucket with "
            f"le={slo.threshold_text.removesuffix('s')}: its latency SLI is empty and its error-budget alerts cannot fire."
        ),
        meaning="a component's request histogram has no bucket at the latency objective's threshold",
    )


def objectives(levels: ServiceLevels) -> tuple[ServiceLevelObjective, ...]:
    found = []
    for component, settings in ((BACKEND, levels.backend), (FRONTEND, levels.frontend)):
        if settings is None:
            continue
        for kind in ("availability", "latency"):
            found.append(ServiceLevelObjective(component, kind, getattr(settings, kind), levels.period_days))
    return tuple(found)


def slo_groups(levels: ServiceLevels) -> tuple[RuleGroup, ...]:
    """One group per objective: its recording rules first, then its two alerts on the fresh ratios."""
    return tuple(
        RuleGroup(
            f"ai-subsidy.slo.{slo.component.name}.{slo.kind}",
            (*slo.recordings(), slo.alert("page"), slo.alert("ticket"), *((bucket_missing(slo),) if slo.kind == "latency" else ())),
        )
        for slo in objectives(levels)
    )


def slo_rule_groups(names: Names) -> list[dict[str, Any]]:
    return [group.render(names) for group in slo_groups(names.spec.slos)]


def slo_alerts(levels: ServiceLevels) -> list[Alert]:
    return [rule for group in slo_groups(levels) for rule in group.rules if isinstance(rule, Alert)]
