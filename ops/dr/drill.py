"""`ops dr drill`: run the restore end to end against an environment and time every step.

A drill restores the database from its latest restorable time into a throw-away instance (never
touching the environment's own instance or secrets), verifies it has the original's settings,
plans the files restore and checks the DR replica, restarts a client Deployment and waits until it
is ready, then deletes the copy. The table compares each measured step with its budget
(`ops.dr.budget`) and projects the recovery time against the spec's objective. The region-loss
scenario (`--scenario region-loss`) is `ops.dr.failover`, timed into the same result against the
region-loss budget.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from envspec.topology import Component
from ops.console import duration, say, step, table, warn
from ops.context import Target
from ops.dr.budget import SCENARIOS, BudgetStep
from ops.dr.database import RestoreOptions, RestorePlan, describe_instance, execute_restore, plan_restore
from ops.dr.files import failover_report, plan_file_restore
from ops.dr.settings import DRILL_TAG
from ops.errors import OpsError
from ops.kube import Kube, restart_and_wait
from ops.timeutil import iso, now
from ops.waiting import Poll


@dataclass
class DrillResult:
    environment: str
    started: str
    objective_minutes: int
    measured_seconds: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    instance: str | None = None
    scenario: str = "restore"  # the budget table: ops.dr.budget.SCENARIOS

    @property
    def budget(self) -> tuple[BudgetStep, ...]:
        return SCENARIOS[self.scenario]

    def _counts_budget(self, key: str, measured: bool) -> bool:
        return not measured or key in self.skipped

    @property
    def projected_seconds(self) -> float:
        return sum(
            item.minutes * 60 if self._counts_budget(item.key, item.measured) else self.measured_seconds.get(item.key, 0.0)
            for item in self.budget
        )

    @property
    def complete(self) -> bool:
        return all(item.key in self.measured_seconds for item in self.budget if not self._counts_budget(item.key, item.measured))

    @property
    def met(self) -> bool:
        return self.complete and not self.failures and self.projected_seconds <= self.objective_minutes * 60

    def rows(self) -> list[tuple[str, str, str, str]]:
        rows = []
        for item in self.budget:
            budget = duration(item.minutes * 60)
            if not item.measured:
                measured = "not measured (budget counted)"
            elif item.key in self.skipped:
                measured = "skipped (budget counted)"
            elif item.key in self.measured_seconds:
                seconds = self.measured_seconds[item.key]
                measured = duration(seconds) + ("  OVER BUDGET" if seconds > item.minutes * 60 else "")
            else:
                measured = "did not run"
            rows.append((item.key, item.title, budget, measured))
        total_budget = duration(sum(item.minutes for item in self.budget) * 60)
        rows.append(
            ("total", f"projected recovery time vs objective {self.objective_minutes}m", total_budget, duration(self.projected_seconds))
        )
        return rows

    def print(self) -> None:
        say(table(("step", "what", "budget", "measured"), self.rows(), align_right=(2,)))
        verdict = "MET" if self.met else "MISSED"
        say(f"Recovery time objective ({self.objective_minutes} min): {verdict}")
        for failure in self.failures:
            say(f"  failure: {failure}")

    def write(self, path: Path) -> None:
        document = {**asdict(self), "projected_seconds": round(self.projected_seconds, 1), "met": self.met}
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


@contextmanager
def timed(result: DrillResult, key: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    result.measured_seconds[key] = time.monotonic() - started


def _cleanup(target: Target, plan: RestorePlan) -> None:
    rds = target.aws.client("rds", plan.region)
    copy = describe_instance(rds, plan.target_identifier)
    if copy is None:
        return  # the restore request itself failed: nothing to delete
    tags = {tag["Key"]: tag["Value"] for tag in copy.get("TagList", [])}
    if tags.get(DRILL_TAG) != "true":
        raise OpsError(f"{plan.target_identifier} is not tagged {DRILL_TAG}=true; refusing to delete it")
    if copy.get("DeletionProtection"):
        rds.modify_db_instance(DBInstanceIdentifier=plan.target_identifier, DeletionProtection=False, ApplyImmediately=True)
    step(f"deleting the drill copy {plan.target_identifier} (no final snapshot: it is a copy)")
    rds.delete_db_instance(DBInstanceIdentifier=plan.target_identifier, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)


def run_drill(
    target: Target,
    poll: Poll,
    kube_factory: Callable[[], Kube] | None,
    component: Component | None,
    keep: bool,
) -> DrillResult:
    result = DrillResult(target.env, iso(now()), target.spec.backup.recovery_time_objective_minutes)
    plan: RestorePlan | None = None
    kube: Kube | None = None
    created = False
    try:
        with timed(result, "preflight"):
            step("preflight")
            options = RestoreOptions("latest", None, False, None, None, (), None)
            plan = plan_restore(target, options, purpose="drill", extra_tags={DRILL_TAG: "true"})
            plan.print()
            kube = kube_factory() if kube_factory is not None else None
        with timed(result, "restore"):
            created = True
            restored, _ = execute_restore(target, plan, poll)
            result.instance = plan.target_identifier
        with timed(result, "verify"):
            step("verifying the copy against the original's settings")
            mismatches = plan.settings.mismatches(restored)
            result.failures += [f"restored instance: {item}" for item in mismatches]
            say("    settings match" if not mismatches else "    " + "; ".join(mismatches))
        with timed(result, "files"):
            step("files: point-in-time plan at the database's restore point")
            restore_point = plan.restore_time or (plan.window[1] if plan.window else now())
            files = plan_file_restore(target, restore_point, "", False, False)
            say(f"    {files.counts()['restore']} objects would be restored, {files.unchanged} unchanged")
            if target.spec.backup.cross_region and not failover_report(target, ""):
                result.failures.append("the DR replica of the files bucket is not ready")
        if kube is not None and component is not None:
            with timed(result, "application"):
                restart_and_wait(kube, component, poll, now())
        else:
            result.skipped.append("application")
            warn("application step skipped: its budget counts in the projection")
    except OpsError as error:
        result.failures.append(str(error))
    finally:
        if plan is not None and created and not keep:
            try:
                _cleanup(target, plan)
            except Exception as error:  # noqa: BLE001 - report, never hide the drill's own result
                result.failures.append(f"cleanup of {plan.target_identifier} failed: {error}; delete it by hand")
        elif plan is not None and created:
            say(f"kept {plan.target_identifier}; delete it when done (it is tagged {DRILL_TAG}=true)")
    return result


def plan_only(target: Target) -> dict[str, Any]:
    """What a drill would do, for the dry run."""
    options = RestoreOptions("latest", None, False, None, None, (), None)
    plan = plan_restore(target, options, purpose="drill", extra_tags={DRILL_TAG: "true"})
    plan.print()
    return {"instance": plan.target_identifier}
