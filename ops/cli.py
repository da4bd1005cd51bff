"""`python -m ops`: the command tree, argument parsing and the one place errors become exit codes."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from envspec import DEFAULT_DIRECTORY
from envspec.naming import AI_WORKER, BACKEND, FRONTEND
from ops.errors import EnvironmentProblem, OpsError

EXIT_CODES = """exit codes:
  0  done (or dry run printed)
  1  the operation failed or a check failed (details above the error line)
  2  bad input, refused before anything changed (unknown environment, time outside the
     retention window, missing snapshot, invalid tag, critical restart without confirmation)
  3  the machine cannot act: no or wrong AWS credentials, no kubeconfig context, missing tool
"""
COMPONENT_CHOICES = {"backend": BACKEND, "frontend": FRONTEND, "ai-worker": AI_WORKER}
DRY_RUN_NOTE = "Dry run unless --execute is given."


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions are wrapped here (`_wrap`), epilogs keep their examples' line breaks."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=100)


def _common(parser: argparse.ArgumentParser, kube: bool = False) -> None:
    parser.add_argument("--env", required=True, help="environment name (a file in environments/)")
    parser.add_argument("--profile", help="AWS profile (default: the standard credential chain)")
    if kube:
        parser.add_argument("--kube-context", help="kubeconfig context (default: the EKS cluster's context)")


def _poll(parser: argparse.ArgumentParser, interval: float, timeout_minutes: float) -> None:
    parser.add_argument("--poll-seconds", type=float, default=interval, help=f"seconds between status checks (default {interval:g})")
    parser.add_argument(
        "--timeout-minutes", type=float, default=timeout_minutes, help=f"give up waiting after this long (default {timeout_minutes:g})"
    )


def _execute(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--execute", action="store_true", help=f"really {what} (default: dry run, nothing changes)")


def _command(
    parent: argparse._SubParsersAction, name: str, help_text: str, description: str, epilog: str | None = None
) -> argparse.ArgumentParser:
    return parent.add_parser(name, help=help_text, description=_wrap(description), epilog=epilog, formatter_class=_Formatter)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ops",
        description="Operations for the AI Subsidy System: disaster recovery, incident response, GitOps deploys.",
        epilog=EXIT_CODES + "\nRunbooks: docs/operations/ and docs/disaster-recovery.md",
        formatter_class=_Formatter,
    )
    groups = parser.add_subparsers(dest="group", required=True, metavar="{dr,incident,deploy}")

    dr = _command(groups, "dr", "disaster recovery", "Restores, the database switch, drills and status.")
    dr_commands = dr.add_subparsers(dest="command", required=True, metavar="{restore-db,switch-db,restore-files,drill,status}")

    restore_db = _command(
        dr_commands,
        "restore-db",
        "restore the database into a new instance",
        "Point-in-time restore (--to) or restore of the newest/named snapshot (--snapshot) into a NEW "
        "instance with the original's settings (subnet group, security groups, parameter group, KMS key, Multi-AZ); "
        "waits, verifies the settings and prints the endpoint and the switch step. " + DRY_RUN_NOTE,
        epilog="examples:\n  python -m ops dr restore-db --env production --to latest\n"
        "  python -m ops dr restore-db --env production --to 2026-05-01T09:30:00+09:00 --execute\n"
        "  python -m ops dr restore-db --env production --snapshot newest --region dr \\\n"
        "      --db-subnet-group <dr group> --vpc-security-group-id <sg> --execute",
    )
    _common(restore_db)
    source = restore_db.add_mutually_exclusive_group(required=True)
    source.add_argument("--to", metavar="TIME|latest", help="point in time (ISO 8601 with offset) or 'latest'")
    source.add_argument("--snapshot", metavar="ID|newest", help="restore a snapshot instead (automated, manual or AWS Backup)")
    restore_db.add_argument("--region", choices=("primary", "dr"), default="primary", help="restore in the DR region from its copies")
    restore_db.add_argument("--target-identifier", help="name of the new instance (default <identifier>-restore-<UTC stamp>)")
    restore_db.add_argument("--db-subnet-group", help="placement override; required in the DR region")
    restore_db.add_argument("--vpc-security-group-id", action="append", default=[], help="placement override (repeatable)")
    restore_db.add_argument("--db-parameter-group", help="parameter group override")
    _execute(restore_db, "restore")
    _poll(restore_db, 30, 90)
    restore_db.set_defaults(handler=_restore_db)

    switch_db = _command(
        dr_commands,
        "switch-db",
        "make a restored instance the environment's database",
        "Locks out and renames the current instance, renames the restored one to the environment's "
        "identifier, has RDS manage its master password, checks the application's database secret, refreshes "
        "database-secret and restarts the database clients. " + DRY_RUN_NOTE,
    )
    _common(switch_db, kube=True)
    switch_db.add_argument("--instance", required=True, help="the restored instance (printed by restore-db)")
    switch_db.add_argument("--skip-kubernetes", action="store_true", help="do not refresh database-secret or restart clients")
    _execute(switch_db, "switch")
    _poll(switch_db, 15, 60)
    switch_db.set_defaults(handler=_switch_db)

    restore_files = _command(
        dr_commands,
        "restore-files",
        "files bucket to a point in time, or check the DR replica",
        "Copies back, for every object that changed, its version current at --to (from this bucket's "
        "versions, or the DR replica's with --from-replica). Adds only new versions and, with --hide-newer, delete "
        "markers: reversible. --failover checks the replica instead. " + DRY_RUN_NOTE,
    )
    _common(restore_files)
    mode = restore_files.add_mutually_exclusive_group(required=True)
    mode.add_argument("--to", metavar="TIME", help="point in time (ISO 8601 with offset)")
    mode.add_argument("--failover", action="store_true", help="read-only readiness check of the DR replica bucket")
    restore_files.add_argument("--prefix", default="", help="only keys under this prefix")
    restore_files.add_argument("--from-replica", action="store_true", help="take the versions from the DR replica bucket")
    restore_files.add_argument("--hide-newer", action="store_true", help="also hide objects created after --to")
    _execute(restore_files, "restore")
    restore_files.set_defaults(handler=_restore_files)

    drill = _command(
        dr_commands,
        "drill",
        "timed end-to-end restore against an environment",
        "Restores the database (latest restorable time) into a throw-away copy, verifies it, plans the "
        "files restore, checks the replica, restarts a client Deployment, deletes the copy, and prints each step's "
        "time against the recovery-time budget. " + DRY_RUN_NOTE,
    )
    _common(drill, kube=True)
    drill.add_argument(
        "--component", choices=sorted(COMPONENT_CHOICES), default="backend", help="Deployment restarted in the application step"
    )
    drill.add_argument("--skip-application", action="store_true", help="no Kubernetes step (its budget counts instead)")
    drill.add_argument("--keep", action="store_true", help="keep the restored copy")
    drill.add_argument("--report", type=Path, help="also write the result as JSON to this file")
    _execute(drill, "run the drill")
    _poll(drill, 30, 90)
    drill.set_defaults(handler=_drill)

    status = _command(
        dr_commands, "status", "health of every recovery path (read-only)", "Point-in-time lag, DR copies, vaults, replication."
    )
    _common(status)
    status.set_defaults(handler=_status)

    incident = _command(groups, "incident", "incident response", "Diagnostics, notifications, restarts.")
    incident_commands = incident.add_subparsers(dest="command", required=True, metavar="{collect,notify,recover}")

    collect = _command(
        incident_commands,
        "collect",
        "diagnostics bundle to the diagnostics bucket",
        "Collects Deployments, pods, describe output, events and recent logs from the cluster and the "
        "alert and target state from Prometheus; uploads a UTC-stamped tarball and prints its URI. Changes nothing "
        "in the cluster.",
    )
    _common(collect, kube=True)
    collect.add_argument("--component", choices=[*sorted(COMPONENT_CHOICES), "all"], default="all", help="default: all")
    collect.add_argument("--since-minutes", type=int, default=60, help="log window (default 60)")
    collect.add_argument("--tail-lines", type=int, default=2000, help="log lines per container (default 2000)")
    collect.add_argument("--keep-local", type=Path, metavar="DIR", help="also keep a copy of the tarball in DIR")
    collect.set_defaults(handler=_collect)

    notify = _command(
        incident_commands,
        "notify",
        "Slack (and PagerDuty for critical)",
        "Posts the incident to Slack; critical incidents also trigger PagerDuty. Credentials come from "
        "Secrets Manager and are never printed. Never restarts anything.",
    )
    _common(notify)
    notify.add_argument("--severity", required=True, choices=("critical", "major", "minor", "info"))
    notify.add_argument("--component", required=True, help="affected component (free text, e.g. backend, database)")
    notify.add_argument("--message", required=True)
    notify.add_argument("--incident-id", help="PagerDuty dedup key (default <env>-<component>-<UTC stamp>)")
    notify.add_argument("--dry-run", action="store_true", help="check the credentials, send nothing")
    notify.set_defaults(handler=_notify)

    recover = _command(
        incident_commands,
        "recover",
        "restart a component and wait until ready",
        "kubectl rollout restart semantics, then waits like kubectl rollout status. A critical incident "
        "is never restarted automatically: it needs a person at a terminal to confirm. " + DRY_RUN_NOTE,
    )
    _common(recover, kube=True)
    recover.add_argument("--component", required=True, choices=sorted(COMPONENT_CHOICES))
    recover.add_argument("--severity", required=True, choices=("critical", "major", "minor", "info"))
    recover.add_argument("--notify", action="store_true", help="post the outcome to Slack")
    _execute(recover, "restart")
    _poll(recover, 5, 10)
    recover.set_defaults(handler=_recover)

    deploy = _command(groups, "deploy", "GitOps deploys", "Changes reach clusters through pull requests.")
    deploy_commands = deploy.add_subparsers(dest="command", required=True, metavar="{set-image}")
    set_image = _command(
        deploy_commands,
        "set-image",
        "bump an image tag by pull request",
        "Edits only workloads.<component>.image.tag in environments/<env>.yaml (comments and formatting "
        "kept), validates it with the spec loader, and opens a pull request with git and gh. " + DRY_RUN_NOTE,
        epilog="example:\n  python -m ops deploy set-image --env staging --component backend --tag v1.5.0 --execute",
    )
    set_image.add_argument("--env", required=True, help="environment name")
    set_image.add_argument("--component", required=True, choices=sorted(COMPONENT_CHOICES))
    set_image.add_argument("--tag", required=True, help="the image tag to deploy")
    set_image.add_argument("--repo", type=Path, default=DEFAULT_DIRECTORY.parent, help="checkout to edit (default: this one)")
    set_image.add_argument("--base", default="main", help="pull request base branch (default main)")
    set_image.add_argument("--remote", default="origin", help="git remote to push to (default origin)")
    set_image.add_argument("--no-pr", action="store_true", help="push the branch but do not run gh")
    _execute(set_image, "branch, commit, push and open the pull request")
    set_image.set_defaults(handler=_set_image)
    return parser


# --- handlers -------------------------------------------------------------------------------


def _poll_of(args: argparse.Namespace):
    from ops.waiting import Poll

    return Poll(interval_seconds=args.poll_seconds, timeout_seconds=args.timeout_minutes * 60)


def _target(args: argparse.Namespace):
    from ops.context import target

    found = target(args.env, args.profile)
    found.aws.verify(found.aws.dr_region if getattr(args, "region", "primary") == "dr" else None)
    return found


def _kube(found, args: argparse.Namespace):
    from ops.kube import Kube

    return Kube(found.names, args.kube_context)


def _restore_db(args: argparse.Namespace) -> int:
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


def _switch_db(args: argparse.Namespace) -> int:
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


def _restore_files(args: argparse.Namespace) -> int:
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


def _drill(args: argparse.Namespace) -> int:
    from ops.console import say
    from ops.dr.budget import RTO_BUDGET
    from ops.dr.drill import plan_only, run_drill

    found = _target(args)
    component = None if args.skip_application else COMPONENT_CHOICES[args.component]
    if not args.execute:
        plan_only(found)
        say(f"dry run: the drill would run these steps against the {found.spec.backup.recovery_time_objective_minutes}-minute objective:")
        for item in RTO_BUDGET:
            say(f"  {item.key:<12} {item.minutes:>4g} min  {item.title}{'' if item.measured else '  (budget only)'}")
        say("nothing was changed; add --execute")
        return 0
    factory = (lambda: _kube(found, args)) if component is not None else None
    result = run_drill(found, _poll_of(args), factory, component, args.keep)
    result.print()
    if args.report:
        result.write(args.report)
    return 0 if result.met else 1


def _status(args: argparse.Namespace) -> int:
    from ops.dr.status import print_status, run_status

    found = _target(args)
    return 0 if print_status(found, run_status(found)) else 1


def _collect(args: argparse.Namespace) -> int:
    from ops.incident.collect import collect

    found = _target(args)
    component = None if args.component == "all" else COMPONENT_CHOICES[args.component]
    collect(found, _kube(found, args), component, args.since_minutes, args.tail_lines, args.keep_local)
    return 0


def _notify(args: argparse.Namespace) -> int:
    from ops.incident.notify import Incident, notify
    from ops.timeutil import now, stamp

    found = _target(args)
    incident = Incident(
        found.env, args.severity, args.component, args.message, args.incident_id or f"{found.env}-{args.component}-{stamp(now())}"
    )
    notify(found, incident, args.dry_run)
    return 0


def _recover(args: argparse.Namespace) -> int:
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


def _set_image(args: argparse.Namespace) -> int:
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


# --- errors -----------------------------------------------------------------------------------


def _describe_failure(error: BaseException) -> tuple[str, int] | None:
    """One line and an exit code for the failures of the libraries the commands use."""
    import botocore.exceptions
    import urllib3.exceptions

    if isinstance(error, OpsError):
        return str(error), error.exit_code
    if isinstance(error, (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError)):
        return "no usable AWS credentials found; log in first (for example `aws sso login`); nothing was changed", 3
    if isinstance(error, (botocore.exceptions.CredentialRetrievalError, botocore.exceptions.TokenRetrievalError)):
        return f"the AWS credentials could not be obtained ({type(error).__name__}); log in again; nothing was changed", 3
    if isinstance(error, botocore.exceptions.ClientError):
        details = error.response.get("Error", {})
        code, message = details.get("Code", "?"), details.get("Message", "")
        operation = getattr(error, "operation_name", "AWS call")
        if code in (
            "ExpiredToken",
            "ExpiredTokenException",
            "InvalidClientTokenId",
            "UnrecognizedClientException",
            "SignatureDoesNotMatch",
        ):
            return f"the AWS credentials were refused ({code}); log in again", 3
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            return f"{operation}: not allowed for these credentials ({code}): {message}", 3
        return f"{operation} failed: {code}: {message}", 1
    if isinstance(error, botocore.exceptions.EndpointConnectionError):
        return f"cannot reach AWS: {error}", 3
    if isinstance(error, botocore.exceptions.BotoCoreError):
        return f"AWS client error: {error}", 1
    if isinstance(error, urllib3.exceptions.HTTPError):
        return f"cannot reach the Kubernetes API ({type(error).__name__})", 3
    try:
        from kubernetes.client.exceptions import ApiException
    except ImportError:  # pragma: no cover - the client is a pinned dependency
        return None
    if isinstance(error, ApiException):
        return f"Kubernetes API answered {error.status} {error.reason}", 3 if error.status in (401, 403) else 1
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        described = _describe_failure(error)
        if described is None:
            raise
        message, code = described
        print(f"error: {message}", file=sys.stderr, flush=True)
        return code
