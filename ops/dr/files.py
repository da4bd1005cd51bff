"""`ops dr restore-files`: the files bucket back to a point in time, from object versions.

The bucket is versioned (and replicated, version ids included, to the DR region), so nothing is ever
lost by a delete or an overwrite until the noncurrent-version lifecycle expires it. A restore only
adds: each object that differs from its state at the chosen time gets that old version copied back
as its new current version; objects created after that time are hidden behind a delete marker only
with `--hide-newer`. Every step is reversible from the versions the restore leaves behind.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ops.console import fields, say, step, table
from ops.context import Target
from ops.errors import InputError, OpsError
from ops.timeutil import iso, now


@dataclass(frozen=True)
class Entry:
    key: str
    version_id: str
    last_modified: datetime
    is_latest: bool
    deleted: bool  # a delete marker
    size: int


@dataclass(frozen=True)
class Action:
    key: str
    kind: str  # "restore" (copy an old version back) or "hide" (add a delete marker)
    version_id: str | None
    size: int


@dataclass(frozen=True)
class FilePlan:
    bucket: str
    source_bucket: str
    source_region: str
    moment: datetime
    actions: tuple[Action, ...]
    unchanged: int

    def counts(self) -> dict[str, int]:
        return {kind: sum(1 for action in self.actions if action.kind == kind) for kind in ("restore", "hide")}


def list_versions(s3: Any, bucket: str, prefix: str) -> dict[str, list[Entry]]:
    entries: dict[str, list[Entry]] = defaultdict(list)
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Versions", []):
            entries[item["Key"]].append(
                Entry(item["Key"], item["VersionId"], item["LastModified"], item["IsLatest"], False, int(item.get("Size", 0)))
            )
        for item in page.get("DeleteMarkers", []):
            entries[item["Key"]].append(Entry(item["Key"], item["VersionId"], item["LastModified"], item["IsLatest"], True, 0))
    return entries


def state_at(entries: list[Entry], moment: datetime) -> Entry | None:
    """The entry that was current at `moment` (None: the key did not exist yet)."""
    earlier = [entry for entry in entries if entry.last_modified <= moment]
    return max(earlier, key=lambda entry: (entry.last_modified, entry.is_latest)) if earlier else None


def plan_actions(
    current: dict[str, list[Entry]], source: dict[str, list[Entry]], moment: datetime, hide_newer: bool
) -> tuple[list[Action], int]:
    actions, unchanged = [], 0
    for key in sorted(set(current) | set(source)):
        wanted = state_at(source.get(key, []), moment)
        latest = next((entry for entry in current.get(key, []) if entry.is_latest), None)
        exists_now = latest is not None and not latest.deleted
        if wanted is not None and not wanted.deleted:
            if exists_now and latest is not None and latest.version_id == wanted.version_id:
                unchanged += 1
            else:
                actions.append(Action(key, "restore", wanted.version_id, wanted.size))
        elif exists_now and hide_newer and latest is not None:
            actions.append(Action(key, "hide", None, latest.size))
        else:
            unchanged += 1
    return actions, unchanged


def retention_start(s3: Any, bucket: str) -> datetime | None:
    """Oldest time the bucket's versions still cover, from its noncurrent-version lifecycle rule."""
    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchLifecycleConfiguration":
            return None
        raise
    days = [
        int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
        for rule in rules
        if rule.get("Status") == "Enabled" and "NoncurrentDays" in rule.get("NoncurrentVersionExpiration", {})
    ]
    return now() - timedelta(days=min(days)) if days else None


def _require_versioned(s3: Any, bucket: str, region: str) -> None:
    try:
        status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchBucket":
            raise InputError(f"bucket {bucket} does not exist in {region}; nothing was changed") from None
        raise
    if status != "Enabled":
        raise InputError(f"bucket {bucket} is not versioned; there are no versions to restore from")


def plan_file_restore(target: Target, moment: datetime, prefix: str, from_replica: bool, hide_newer: bool) -> FilePlan:
    names, aws = target.names, target.aws
    bucket, s3 = names.bucket("files"), aws.client("s3")
    source_bucket, source_region = (names.bucket("files-dr"), aws.dr_region) if from_replica else (bucket, aws.region)
    source_s3 = aws.client("s3", source_region)
    _require_versioned(s3, bucket, aws.region)
    if from_replica:
        _require_versioned(source_s3, source_bucket, source_region)
    if moment > now():
        raise InputError(f"restore time {iso(moment)} is in the future; nothing was changed")
    earliest = retention_start(source_s3, source_bucket)
    if earliest is not None and moment < earliest:
        raise InputError(
            f"restore time {iso(moment)} is outside the retention window of {source_bucket} "
            f"(noncurrent versions are kept from {iso(earliest)}); nothing was changed"
        )
    current = list_versions(s3, bucket, prefix)
    source = current if not from_replica else list_versions(source_s3, source_bucket, prefix)
    actions, unchanged = plan_actions(current, source, moment, hide_newer)
    return FilePlan(bucket, source_bucket, source_region, moment, tuple(actions), unchanged)


def print_plan(plan: FilePlan, limit: int = 20) -> None:
    counts = plan.counts()
    say(
        fields(
            [
                ("bucket", plan.bucket),
                ("versions from", f"{plan.source_bucket} ({plan.source_region})"),
                ("point in time", iso(plan.moment)),
                ("restore", f"{counts['restore']} objects (an old version copied back as current)"),
                ("hide", f"{counts['hide']} objects created later (delete marker; reversible)"),
                ("unchanged", str(plan.unchanged)),
            ]
        )
    )
    if plan.actions:
        rows = [(action.kind, action.key, action.version_id or "-") for action in plan.actions[:limit]]
        say(table(("action", "key", "version"), rows))
        if len(plan.actions) > limit:
            say(f"... and {len(plan.actions) - limit} more")


def execute_file_restore(target: Target, plan: FilePlan) -> None:
    s3 = target.aws.client("s3")
    source_s3 = target.aws.client("s3", plan.source_region)
    for index, action in enumerate(plan.actions, start=1):
        if action.kind == "restore":
            source = {"Bucket": plan.source_bucket, "Key": action.key, "VersionId": action.version_id}
            s3.copy(source, plan.bucket, action.key, SourceClient=source_s3)  # multipart above 8 MiB
        else:
            s3.delete_object(Bucket=plan.bucket, Key=action.key)
        if index % 100 == 0:
            say(f"    {index} of {len(plan.actions)} done")
    step("verifying")
    problems = []
    for action in plan.actions:
        try:
            head = s3.head_object(Bucket=plan.bucket, Key=action.key)
            present, size = True, int(head["ContentLength"])
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("404", "NoSuchKey"):
                raise
            present, size = False, 0
        if action.kind == "restore" and (not present or size != action.size):
            problems.append(f"{action.key}: expected {action.size} bytes, found {'nothing' if not present else size}")
        if action.kind == "hide" and present:
            problems.append(f"{action.key}: still visible")
    if problems:
        raise OpsError(f"{len(problems)} objects did not come back as planned: " + "; ".join(problems[:5]))
    counts = plan.counts()
    say(f"Restored {counts['restore']} and hid {counts['hide']} objects of {plan.bucket} to their state at {iso(plan.moment)}")


def failover_report(target: Target, prefix: str) -> bool:
    """Read-only readiness check of the DR replica; True when it can serve the files."""
    names, aws = target.names, target.aws
    bucket, replica = names.bucket("files"), names.bucket("files-dr")
    s3, s3_dr = aws.client("s3"), aws.client("s3", aws.dr_region)
    checks: list[tuple[str, bool, str]] = []
    try:
        versioning = s3_dr.get_bucket_versioning(Bucket=replica).get("Status")
        checks.append(("replica bucket versioned", versioning == "Enabled", f"{replica} ({aws.dr_region}): {versioning or 'off'}"))
    except ClientError as error:
        checks.append(("replica bucket exists", False, f"{replica}: {error.response['Error']['Code']}"))
        versioning = None
    primary_keys: set[str] | None = None
    try:
        rules = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]["Rules"]
        to_replica = [rule for rule in rules if rule["Destination"]["Bucket"] == names.bucket_arn("files-dr")]
        rtc = any(rule["Destination"].get("ReplicationTime", {}).get("Status") == "Enabled" for rule in to_replica)
        enabled = any(rule.get("Status") == "Enabled" for rule in to_replica)
        checks.append(("replication rule enabled", enabled, f"{len(to_replica)} rule(s) to {replica}"))
        checks.append(("Replication Time Control", rtc, "15-minute SLA, latency metrics" if rtc else "off"))
        primary_keys = {
            key for key, entries in list_versions(s3, bucket, prefix).items() if any(e.is_latest and not e.deleted for e in entries)
        }
    except ClientError as error:
        checks.append(("primary bucket readable", False, f"{bucket}: {error.response['Error']['Code']} (region down?)"))
    if versioning:
        replica_keys = {
            key for key, entries in list_versions(s3_dr, replica, prefix).items() if any(e.is_latest and not e.deleted for e in entries)
        }
        if primary_keys is not None:
            missing = sorted(primary_keys - replica_keys)
            detail = f"{len(replica_keys)} objects; missing {len(missing)}" + (f" (e.g. {', '.join(missing[:3])})" if missing else "")
            checks.append(("replica has every current object", not missing, detail))
        else:
            checks.append(("replica objects", True, f"{len(replica_keys)} current objects"))
    say(table(("check", "ok", "detail"), [(name, "yes" if ok else "NO", detail) for name, ok, detail in checks]))
    ready = all(ok for name, ok, _ in checks if name != "primary bucket readable")
    say(f"Fail-over target: s3://{replica} in {aws.dr_region} — {'ready' if ready else 'NOT ready'}")
    say("Switching the application to it is part of the region-loss procedure: docs/disaster-recovery.md#region-loss")
    return ready
