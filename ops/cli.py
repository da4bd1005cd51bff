"""`python -m ops`: the command tree, argument parsing and the one place errors become exit codes."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from envspec import DEFAULT_DIRECTORY
from envspec.exit_codes import INTERRUPTED
from ops import arguments, commands
from ops.commands import COMPONENT_CHOICES
from ops.errors import OpsError

EXIT_CODES = """exit codes:
  0  done (or dry run printed)
  1  the operation failed or a check failed (details above the error line)
  2  bad input, refused before anything changed (unknown environment, time outside the
     retention window, missing snapshot, invalid tag, critical restart without confirmation)
  3  the machine cannot act: no or wrong AWS credentials, no kubeconfig context, missing tool
"""
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


def _standby_options(parser: argparse.ArgumentParser) -> None:
    """Options of a region failover (failover-region, drill --scenario region-loss)."""
    parser.add_argument("--dr-context", help="kubeconfig context of the standby cluster (default: its EKS context)")
    parser.add_argument("--accept-data-loss", action="store_true", help="promote even if the replica lags beyond the RPO")
    parser.add_argument("--skip-fence", action="store_true", help="do not try the primary cluster at all (it is known to be gone)")


def _command(
    parent: argparse._SubParsersAction, name: str, help_text: str, description: str, epilog: str | None = None
) -> argparse.ArgumentParser:
    return parent.add_parser(name, help=help_text, description=_wrap(description), epilog=epilog, formatter_class=_Formatter)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ops",
        description="Operations for the AI Subsidy System: disaster recovery, incident response, cost reports, GitOps deploys.",
        epilog=EXIT_CODES + "\nRunbooks: docs/operations/ and docs/disaster-recovery.md",
        formatter_class=_Formatter,
    )
    groups = parser.add_subparsers(dest="group", required=True, metavar="{dr,incident,cost,deploy}")

    dr = _command(groups, "dr", "disaster recovery", "Restores, the database switch, drills and status.")
    dr_commands = dr.add_subparsers(
        dest="command", required=True, metavar="{restore-db,switch-db,restore-files,drill,failover-region,status}"
    )

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
    restore_db.set_defaults(handler=commands.restore_db)

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
    switch_db.set_defaults(handler=commands.switch_db)

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
    restore_files.set_defaults(handler=commands.restore_files)

    drill = _command(
        dr_commands,
        "drill",
        "timed end-to-end restore or region failover against an environment",
        "Scenario restore (default): restores the database (latest restorable time) into a throw-away copy, verifies "
        "it, plans the files restore, checks the replica, restarts a client Deployment, deletes the copy. Scenario "
        "region-loss: runs failover-region for real (not in production, where a person must run it). Prints each "
        "step's time against the scenario's budget. " + DRY_RUN_NOTE,
        epilog="examples:\n  python -m ops dr drill --env staging --execute --report drill.json\n"
        "  python -m ops dr drill --env staging --scenario region-loss --execute --report region-loss.json",
    )
    _common(drill, kube=True)
    drill.add_argument("--scenario", choices=("restore", "region-loss"), default="restore", help="what to drill (default restore)")
    _standby_options(drill)
    drill.add_argument(
        "--component", choices=sorted(COMPONENT_CHOICES), default="backend", help="Deployment restarted in the application step"
    )
    drill.add_argument("--skip-application", action="store_true", help="no Kubernetes step (its budget counts instead)")
    drill.add_argument("--keep", action="store_true", help="keep the restored copy")
    drill.add_argument("--report", type=Path, help="also write the result as JSON to this file")
    _execute(drill, "run the drill")
    _poll(drill, 30, 90)
    drill.set_defaults(handler=commands.drill)

    failover = _command(
        dr_commands,
        "failover-region",
        "move the environment to its standby in the DR region",
        "Preflight (replica lag, standby health, what will be lost, expected duration), fence the primary where it "
        "answers, promote the DR read replica, point the DR database secrets at it, scale the standby's applications "
        "and wait until Ready, then pin the primary's health check so Route 53 answers the standby; every step timed "
        "against the region-loss budget. Production needs a person at a terminal to confirm. A second run resumes. " + DRY_RUN_NOTE,
        epilog="examples:\n  python -m ops dr failover-region --env production\n"
        "  python -m ops dr failover-region --env production --execute --report failover.json",
    )
    _common(failover, kube=True)
    _standby_options(failover)
    failover.add_argument("--report", type=Path, help="also write the timed steps as JSON to this file")
    _execute(failover, "fail over")
    _poll(failover, 15, 60)
    failover.set_defaults(handler=commands.failover_region)

    status = _command(
        dr_commands, "status", "health of every recovery path (read-only)", "Point-in-time lag, DR copies, vaults, replication."
    )
    _common(status)
    status.set_defaults(handler=commands.status)

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
    collect.set_defaults(handler=commands.collect)

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
    notify.set_defaults(handler=commands.notify)

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
    recover.set_defaults(handler=commands.recover)

    cost = _command(groups, "cost", "cost reports", "What an environment spends against its estimate and budget.")
    cost_commands = cost.add_subparsers(dest="command", required=True, metavar="{report}")
    report = _command(
        cost_commands,
        "report",
        "weekly spend by service vs estimate and budget (read-only)",
        "Reads Cost Explorer (daily unblended cost, grouped by service and the Environment tag) for the last "
        "--weeks full weeks, and prints a table for the weekly review with last week's monthly run rate against "
        "the monthly budget and the estimate of the synthesized stacks (make cost). Changes nothing.",
        epilog="example:\n  python -m ops cost report --env production --weeks 4 --format markdown",
    )
    _common(report)
    report.add_argument("--weeks", type=int, default=4, help="full weeks to show, ending yesterday (default 4, at most 52)")
    report.add_argument("--format", choices=("text", "markdown"), default="text", help="plain table or Markdown (default text)")
    report.add_argument(
        "--terraform-outdir", type=Path, default=DEFAULT_DIRECTORY.parent / "cdktf.out", help="synthesis the estimate is read from"
    )
    report.set_defaults(handler=commands.cost_report)

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
    set_image.set_defaults(handler=commands.set_image)
    return parser


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
        # The command's own input first: bad arguments are exit 2 whatever the machine's credentials.
        arguments.validate(args)
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as error:
        described = _describe_failure(error)
        if described is None:
            raise
        message, code = described
        print(f"error: {message}", file=sys.stderr, flush=True)
        return code
