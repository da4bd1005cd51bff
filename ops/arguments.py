"""Checks of a command's own arguments, run before anything reads the environment or AWS.

argparse knows types and choices; what it cannot know (a time that parses, an RDS identifier AWS
accepts, a positive wait, options that only make sense together) is checked here, so that bad
input always gets exit code 2 and one line, before a credential or a cluster is looked at.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ops.errors import InputError
from ops.timeutil import LATEST, parse_time

# RDS DB instance identifiers: 1-63 letters, digits or hyphens, starting with a letter, no two
# consecutive hyphens, not ending with one (RDS API reference, CreateDBInstance, DBInstanceIdentifier);
# RDS stores them in lower case, so the tools accept only that form.
RDS_IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
RDS_IDENTIFIER_MAX = 63
SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$")
INCIDENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,255}$")


def _positive(args: argparse.Namespace, option: str, *, zero: bool = False) -> None:
    value = getattr(args, option.removeprefix("--").replace("-", "_"), None)
    if value is not None and not (value >= 0 if zero else value > 0):
        raise InputError(f"{option}: must be {'0 or more' if zero else 'greater than 0'} (got {value:g})")


def _identifier(value: str | None, option: str) -> None:
    if value is not None and not (RDS_IDENTIFIER.match(value) and len(value) <= RDS_IDENTIFIER_MAX):
        raise InputError(f"{option}: '{value}' is not a valid RDS identifier (lower-case letters, digits, single hyphens, at most 63)")


def _restore_db(args: argparse.Namespace) -> None:
    if args.to is not None and args.to != LATEST:
        parse_time(args.to, "--to")
    if args.snapshot is not None and not args.snapshot.strip():
        raise InputError("--snapshot: give a snapshot identifier or 'newest'")
    _identifier(args.target_identifier, "--target-identifier")
    for group in args.vpc_security_group_id:
        if not SECURITY_GROUP_ID.match(group):
            raise InputError(f"--vpc-security-group-id: '{group}' is not a security group ID (sg- and 8 or 17 hex digits)")
    if args.region == "dr" and not (args.db_subnet_group and args.vpc_security_group_id):
        raise InputError("--region dr: name the placement with --db-subnet-group and --vpc-security-group-id (the primary's are not there)")


def _restore_files(args: argparse.Namespace) -> None:
    if args.to is not None:
        parse_time(args.to, "--to")
    if args.failover and (args.from_replica or args.hide_newer or args.execute):
        raise InputError("--failover is a read-only check: it takes no --from-replica, --hide-newer or --execute")


def _collect(args: argparse.Namespace) -> None:
    for option in ("--since-minutes", "--tail-lines"):
        _positive(args, option)
    if args.keep_local is not None and not Path(args.keep_local).is_dir():
        raise InputError(f"--keep-local: {args.keep_local} is not a folder")


def _report(args: argparse.Namespace) -> None:
    if args.report is not None and not Path(args.report).parent.is_dir():
        raise InputError(f"--report: the folder of {args.report} does not exist")


def _drill(args: argparse.Namespace) -> None:
    _report(args)
    restore_only = [option for option, used in (("--keep", args.keep), ("--skip-application", args.skip_application)) if used]
    if args.scenario == "region-loss" and restore_only:
        raise InputError(f"{', '.join(restore_only)}: only for the restore scenario")
    failover_only = [option for option, used in (("--accept-data-loss", args.accept_data_loss), ("--skip-fence", args.skip_fence)) if used]
    if args.scenario == "restore" and failover_only:
        raise InputError(f"{', '.join(failover_only)}: only for the region-loss scenario")


def _notify(args: argparse.Namespace) -> None:
    for option in ("component", "message"):
        if not getattr(args, option).strip():
            raise InputError(f"--{option}: must not be empty")
    if args.incident_id is not None and not INCIDENT_ID.match(args.incident_id):
        raise InputError(f"--incident-id: '{args.incident_id}' may hold only letters, digits and . _ : - (at most 255)")


def _set_image(args: argparse.Namespace) -> None:
    if not args.tag.strip():
        raise InputError("--tag: must not be empty")
    if not Path(args.repo).is_dir():
        raise InputError(f"--repo: {args.repo} is not a folder")


def _cost_report(args: argparse.Namespace) -> None:
    if not 1 <= args.weeks <= 52:
        raise InputError(f"--weeks: must be 1 to 52 (got {args.weeks}); Cost Explorer keeps about a year of daily data")


CHECKS = {
    ("dr", "restore-db"): _restore_db,
    ("dr", "restore-files"): _restore_files,
    ("dr", "drill"): _drill,
    ("dr", "failover-region"): _report,
    ("incident", "collect"): _collect,
    ("incident", "notify"): _notify,
    ("deploy", "set-image"): _set_image,
    ("cost", "report"): _cost_report,
}


def validate(args: argparse.Namespace) -> None:
    """Raise InputError for the first argument of `args` that the operation would refuse."""
    _positive(args, "--poll-seconds", zero=True)  # 0: check again at once
    _positive(args, "--timeout-minutes")
    check = CHECKS.get((args.group, args.command))
    if check is not None:
        check(args)
    if getattr(args, "env", None) is not None and not re.match(r"^[a-z][a-z0-9-]*$", args.env):
        raise InputError(f"--env: '{args.env}' is not an environment name (a file environments/<name>.yaml)")
