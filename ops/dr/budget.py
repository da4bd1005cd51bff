"""The recovery-time budget: how the 30 minutes are spent, step by step (docs/disaster-recovery.md).

`ops dr drill` measures every step a drill can run and adds the budget of the steps it cannot
(people deciding; the switch, which would cut production over) to project the recovery time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BudgetStep:
    key: str
    title: str
    minutes: float
    measured: bool  # False: a drill cannot run it; its budget counts in the projection


RTO_BUDGET: tuple[BudgetStep, ...] = (
    BudgetStep("detect", "alert fires, on-call acknowledges and decides", 5, False),
    BudgetStep("preflight", "credentials, spec, restorable window, placement checked", 1, True),
    BudgetStep("restore", "restore requested, instance available, settings applied", 15, True),
    BudgetStep("verify", "restored settings verified against the original", 1, True),
    BudgetStep("files", "files: point-in-time plan and DR replica check", 1, True),
    BudgetStep("switch", "switch-db: lock out, renames, managed master secret", 4, False),
    BudgetStep("application", "database-secret refreshed, clients rolled out and ready", 3, True),
)


def budget_minutes() -> float:
    return sum(step.minutes for step in RTO_BUDGET)
