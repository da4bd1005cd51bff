"""`ops dr restore-files` against moto's versioned S3: files come back from their versions, nothing is
ever deleted, and a replica in the DR region can be the source."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from envspec import Names
from tests.operations.conftest import ENV, World, add_replica


def _put(s3, bucket: str, key: str, body: bytes) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def _read(s3, bucket: str, key: str) -> bytes | None:
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchKey":
            return None
        raise


def _version_count(s3, bucket: str) -> int:
    listing = s3.list_object_versions(Bucket=bucket)
    return len(listing.get("Versions", [])) + len(listing.get("DeleteMarkers", []))


@pytest.fixture
def history(world: World, names: Names) -> datetime:
    """Files as they were at the returned moment, then an accident: a delete, an overwrite, a new upload."""
    s3, bucket = boto3.client("s3", "ap-northeast-1"), names.bucket("files")
    _put(s3, bucket, "applications/1001/plan.pdf", b"plan v1")
    _put(s3, bucket, "applications/1002/budget.xlsx", b"budget v1")
    _put(s3, bucket, "applications/1003/unchanged.txt", b"same")
    time.sleep(1.1)
    moment = datetime.now(UTC).replace(microsecond=0)
    time.sleep(1.1)
    s3.delete_object(Bucket=bucket, Key="applications/1001/plan.pdf")
    _put(s3, bucket, "applications/1002/budget.xlsx", b"budget overwritten by a bad job")
    _put(s3, bucket, "applications/1004/new-upload.png", b"uploaded after the accident")
    return moment


def test_a_deleted_object_and_an_overwrite_come_back_from_their_versions(history: datetime, run, names: Names) -> None:
    s3, bucket = boto3.client("s3", "ap-northeast-1"), names.bucket("files")
    result = run("dr", "restore-files", "--env", ENV, "--to", history.isoformat(), "--execute")
    assert result.code == 0, result.text
    assert _read(s3, bucket, "applications/1001/plan.pdf") == b"plan v1"
    assert _read(s3, bucket, "applications/1002/budget.xlsx") == b"budget v1"
    assert _read(s3, bucket, "applications/1003/unchanged.txt") == b"same"
    assert _read(s3, bucket, "applications/1004/new-upload.png") == b"uploaded after the accident"  # kept by default
    versions = s3.list_object_versions(Bucket=bucket, Prefix="applications/1002/")["Versions"]
    assert len(versions) == 3, "the bad overwrite is still there as an old version: reversible"
    assert "Restored 2 and hid 0 objects" in result.out


def test_hide_newer_puts_later_uploads_behind_a_delete_marker(history: datetime, run, names: Names) -> None:
    s3, bucket = boto3.client("s3", "ap-northeast-1"), names.bucket("files")
    result = run("dr", "restore-files", "--env", ENV, "--to", history.isoformat(), "--hide-newer", "--execute")
    assert result.code == 0, result.text
    assert _read(s3, bucket, "applications/1004/new-upload.png") is None
    markers = s3.list_object_versions(Bucket=bucket, Prefix="applications/1004/")
    assert len(markers["DeleteMarkers"]) == 1 and len(markers["Versions"]) == 1  # still recoverable


def test_dry_run_lists_the_plan_and_changes_nothing(history: datetime, run, names: Names) -> None:
    s3, bucket = boto3.client("s3", "ap-northeast-1"), names.bucket("files")
    before = _version_count(s3, bucket)
    result = run("dr", "restore-files", "--env", ENV, "--to", history.isoformat(), "--prefix", "applications/100")
    assert result.code == 0, result.text
    assert re.search(r"^  restore +2 objects ", result.out, re.MULTILINE) and "dry run: nothing was changed" in result.out
    assert "restore  applications/1001/plan.pdf" in result.out
    assert _version_count(s3, bucket) == before
    assert _read(s3, bucket, "applications/1001/plan.pdf") is None


def test_the_replica_can_be_the_source_when_the_primary_lost_its_versions(world: World, run, names: Names) -> None:
    add_replica(names)
    s3, s3_dr = boto3.client("s3", "ap-northeast-1"), boto3.client("s3", "ap-northeast-3")
    bucket, replica = names.bucket("files"), names.bucket("files-dr")
    for client, name in ((s3, bucket), (s3_dr, replica)):  # replication, done by S3 in AWS, by hand here
        _put(client, name, "applications/2001/form.pdf", b"form v1")
    time.sleep(1.1)
    moment = datetime.now(UTC).replace(microsecond=0)
    for version in s3.list_object_versions(Bucket=bucket)["Versions"]:  # every version gone in the primary
        s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
    result = run("dr", "restore-files", "--env", ENV, "--to", moment.isoformat(), "--from-replica", "--execute")
    assert result.code == 0, result.text
    assert _read(s3, bucket, "applications/2001/form.pdf") == b"form v1"
    assert f"versions from  {replica} (ap-northeast-3)" in result.out


def test_a_time_before_the_version_retention_is_refused(history: datetime, run, names: Names) -> None:
    moment = (datetime.now(UTC) - timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = run("dr", "restore-files", "--env", ENV, "--to", moment, "--execute")
    assert result.code == 2
    assert f"restore time {moment} is outside the retention window of {names.bucket('files')}" in result.err
    assert "nothing was changed" in result.err


@pytest.mark.parametrize("value", ["2026-05-01 09:30", "yesterday"])
def test_a_time_without_zone_or_not_a_time_is_refused(world: World, run, value: str) -> None:
    result = run("dr", "restore-files", "--env", ENV, "--to", value, "--execute")
    assert result.code == 2
    assert result.err.startswith("error: --to: ") and result.err.count("\n") == 1


def test_failover_check_reports_a_replica_that_misses_objects(world: World, run, names: Names) -> None:
    add_replica(names)
    s3, s3_dr = boto3.client("s3", "ap-northeast-1"), boto3.client("s3", "ap-northeast-3")
    _put(s3, names.bucket("files"), "a.txt", b"a")
    _put(s3, names.bucket("files"), "b.txt", b"b")
    _put(s3_dr, names.bucket("files-dr"), "a.txt", b"a")
    result = run("dr", "restore-files", "--env", ENV, "--failover")
    assert result.code == 1
    assert "missing 1 (e.g. b.txt)" in result.out and "NOT ready" in result.out
    _put(s3_dr, names.bucket("files-dr"), "b.txt", b"b")
    result = run("dr", "restore-files", "--env", ENV, "--failover")
    assert result.code == 0, result.text
    assert f"Fail-over target: s3://{names.bucket('files-dr')} in ap-northeast-3 — ready" in result.out
