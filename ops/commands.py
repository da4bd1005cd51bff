"""What each `python -m ops` command does once its arguments are parsed (the tree is in ops.cli).

Heavy imports (boto3 clients, the Kubernetes client) happen inside the handlers, so `--help` and
argument errors stay fast.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from envspec.topology import AI_WORKER, BACKEND, FRONTEND
from ops.errors import EnvironmentProblem, OpsError

if TYPE_CHECKING:
    from ops.context import Target
    from ops.kube import Kube
    from ops.waiting import Poll

COMPONENT_CHOICES = {"backend": BACKEND, "frontend": FRONTEND, "ai-worker": AI_WORKER}


def _poll_of(args: argparse.Namespace) -> Poll:
    from ops.waiting import Poll

    return Poll(interval_seconds=args.poll_seconds, timeout_seconds=args.timeout_minutes * 60)


def _target(args: argparse.Namespace) -> Target:
    from ops.context import target

    found = target(args.env, args.profile)
    found.aws.verify(found.aws.dr_region if getattr(args, "region", "primary") == "dr" else None)
    return found


def _kube(found: Target, args: argparse.Namespace) -> Kube:
    from ops.kube import Kube

    return Kube(found.names, args.kube_context)


def restore_db(args: argparse.Namespace) -> int:
    from ops.console import say, step
    from ops.dr.database import RestoreOptions, execute_restore, plan_restore, report_restored, switch_step

    found = _target(args)
    options = RestoreOptions(
        args.to,
        args.snapshot,
        args.region == "dr",
        args.target_identifier,
        args.db_subnet_group,
        tuple(args.vpc_security_group_id),
        args.db_parameter_group,
    )
    step("planning the restore (read-only)")
    plan = plan_restore(found, options, purpose="restore")
    plan.print()
    if not args.execute:
        operation, _ = plan.request()
        say(f"dry run: would call rds {operation.replace('_', '-')}; nothing was changed; add --execute")
        return 0
    restored, seconds = execute_restore(found, plan, _poll_of(args))
    mismatches = report_restored(plan, restored, seconds)
    if plan.same_region:
        say("Next step, switch the application to it (dry run first, then --execute):")
        say(f"  {switch_step(found.env, plan.target_identifier)}")
    else:
        say("The copy is in the DR region: follow docs/disaster-recovery.md#region-loss to move the application there.")
    return 1 if mismatches else 0


def switch_db(args: argparse.Namespace) -> int:
    from ops.console import say
    from ops.dr.switch import execute_switch, plan_switch

    found = _target(args)
    plan = plan_switch(found, args.instance)
    kube = None if args.skip_kubernetes else _kube(found, args)
    for number, text in enumerate(plan.steps(kube is not None), start=1):
        say(f"  {number}. {text}")
    if not args.execute:
        say("dry run: nothing was changed; add --execute")
        return 0
    execute_switch(found, plan, _poll_of(args), kube)
    return 0


def restore_files(args: argparse.Namespace) -> int:
    from ops.console import say
    from ops.dr.files import execute_file_restore, failover_report, plan_file_restore, print_plan
    from ops.timeutil import parse_time

    found = _target(args)
    if args.failover:
        return 0 if failover_report(found, args.prefix) else 1
    plan = plan_file_restore(found, parse_time(args.to, "--to"), args.prefix, args.from_replica, args.hide_newer)
    print_plan(plan)
    if not args.execute:
        say("dry run: nothing was changed; add --execute")
        return 0
    execute_file_restore(found, plan)
    return 0


def drill(args: argparse.Namespace) -> int:
    from ops.console import say
    from ops.dr.budget import SCENARIOS
    from ops.dr.drill import plan_only, run_drill

    if args.scenario == "region-loss":
        return _region_failover(args, drill=True)
    found = _target(args)
    component = None if args.skip_application else COMPONENT_CHOICES[args.component]
    if not args.execute:
        plan_only(found)
        _print_budget(SCENARIOS[args.scenario], found.spec.backup.recovery_time_objective_minutes)
        say("nothing was changed; add --execute")
        return 0
    factory = (lambda: _kube(found, args)) if component is not None else None
    result = run_drill(found, _poll_of(args), factory, component, args.keep)
    result.print()
    if args.report:
        result.write(args.report)
    return 0 if result.met else 1


def _print_budget(budget: tuple, objective_minutes: int) -> None:
    from ops.console import say

    say(f"dry run: the drill would run these steps against the {objective_minutes}-minute objective:")
    for item in budget:
        say(f"  {item.key:<12} {item.minutes:>4g} min  {item.title}{'' if item.measured else '  (budget only)'}")


def failover_region(args: argparse.Namespace) -> int:
    return _region_failover(args, drill=False)


def _region_failover(args: argparse.Namespace, drill: bool) -> int:
    """`failover-region`, and `drill --scenario region-loss` (the same steps, no person to ask)."""
    from ops.console import say
    from ops.context import target
    from ops.dr.budget import REGION_LOSS_BUDGET
    from ops.dr.drill import DrillResult, timed
    from ops.dr.failover import PRIMARY_TIMEOUT_SECONDS, confirm_failover, needs_person, plan_failover, run_failover
    from ops.dr.standby import check_mode, standby_names
    from ops.errors import InputError
    from ops.kube import Kube
    from ops.timeutil import iso, now

    found = target(args.env, args.profile)
    check_mode(found)  # a spec without a standby is bad input, whatever the credentials
    if drill and args.execute and needs_person(found):
        raise InputError(
            f"a region-loss drill fails {found.env} over for real and needs a person: use `ops dr failover-region` from a "
            "terminal; nothing was changed"
        )
    found.aws.verify(found.aws.dr_region)  # the primary region may be gone: ask STS in the DR region
    result = DrillResult(found.env, iso(now()), found.spec.backup.recovery_time_objective_minutes, scenario="region-loss")
    with timed(result, "preflight"):
        standby = Kube(found.names, args.dr_context, cluster=standby_names(found.names).cluster, context_option="--dr-context")
        primary = None if args.skip_fence else (lambda: Kube(found.names, args.kube_context, timeout_seconds=PRIMARY_TIMEOUT_SECONDS))
        plan = plan_failover(found, standby, primary, args.accept_data_loss)
    plan.print()
    if not args.execute:
        for number, text in enumerate(plan.steps(), start=1):
            say(f"  {number}. {text}")
        if drill:
            _print_budget(REGION_LOSS_BUDGET, found.spec.backup.recovery_time_objective_minutes)
        say("dry run: nothing was changed; add --execute")
        return 0
    if needs_person(found):
        confirm_failover(found)
    run_failover(found, plan, standby, _poll_of(args), result)
    result.print()
    if args.report:
        result.write(args.report)
    if not result.failures:
        say(f"{found.env} now runs in {found.names.dr_region}; failback: docs/disaster-recovery.md#failback")
        if found.spec.database.multi_az:
            say("Next, once traffic is steady: make the promoted instance Multi-AZ like the primary (no downtime):")
            instance = f"--region {found.names.dr_region} --db-instance-identifier {found.names.dr_database_identifier}"
            say(f"  aws rds modify-db-instance {instance} --multi-az --apply-immediately")
    return 0 if not result.failures else 1


def status(args: argparse.Namespace) -> int:
    from ops.dr.status import print_status, run_status

    found = _target(args)
    return 0 if print_status(found, run_status(found)) else 1


def collect(args: argparse.Namespace) -> int:
    from ops.incident.collect import collect

    found = _target(args)
    component = None if args.component == "all" else COMPONENT_CHOICES[args.component]
    collect(found, _kube(found, args), component, args.since_minutes, args.tail_lines, args.keep_local)
    return 0


def notify(args: argparse.Namespace) -> int:
    from ops.incident.notify import Incident, notify
    from ops.timeutil import now, stamp

    found = _target(args)
    incident = Incident(
        found.env, args.severity, args.component, args.message, args.incident_id or f"{found.env}-{args.component}-{stamp(now())}"
    )
    notify(found, incident, args.dry_run)
    return 0


def recover(args: argparse.Namespace) -> int:
    from ops.incident.notify import Incident, notify
    from ops.incident.recover import recover
    from ops.timeutil import now, stamp

    found = _target(args)
    component = COMPONENT_CHOICES[args.component]
    kube = _kube(found, args)
    try:
        restarted = recover(kube, component, args.severity, args.execute, _poll_of(args))
    except OpsError as error:
        if args.notify and args.execute and not isinstance(error, EnvironmentProblem) and error.exit_code == 1:
            incident = Incident(
                found.env, "major", component.name, f"restart did not recover: {error}", f"{found.env}-{component.name}-{stamp(now())}"
            )
            notify(found, incident, dry_run=False)
        raise
    if restarted and args.notify:
        notify(
            found,
            Incident(
                found.env, "info", component.name, "restarted; every replica is ready", f"{found.env}-{component.name}-{stamp(now())}"
            ),
            False,
        )
    return 0


def set_image(args: argparse.Namespace) -> int:
    from ops.console import say
    from ops.deploy.set_image import apply_image_change, plan_image_change, print_dry_run

    change = plan_image_change(args.repo, args.env, args.component, args.tag)
    if change is None:
        say(f"{args.env} already deploys {args.component} at {args.tag}; nothing to do")
        return 0
    if not args.execute:
        print_dry_run(change, args.base, args.remote, not args.no_pr)
        return 0
    apply_image_change(change, args.repo, args.base, args.remote, not args.no_pr)
    return 0


def cost_report(args: argparse.Namespace) -> int:
    import datetime as dt

    from ops.console import say
    from ops.cost.report import estimate_of, read_spend, render

    found = _target(args)
    spend = read_spend(found, dt.datetime.now(dt.UTC).date(), args.weeks)
    say(render(found, spend, estimate_of(found, args.terraform_outdir), args.format == "markdown"))
    return 0
