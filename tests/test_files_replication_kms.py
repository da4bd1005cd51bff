"""S3 replication of the files bucket under SSE-KMS with S3 Bucket Keys, evaluated request by request.

The requests S3 makes as the replication role, with the KMS encryption context it sends, are data
here; the role's policy and both keys' key policies are read from the synthesized stacks and
evaluated with `tests.iam_policy` (Allow/Deny, wildcards, condition operators as IAM documents them).

The rules encoded (Amazon S3 User Guide):
- "Replicating encrypted objects (SSE-C, SSE-S3, SSE-KMS, DSSE-KMS)", section "S3 Bucket Keys and
  replication": "When an S3 Bucket Key is enabled for the source or destination bucket, the
  encryption context will be the bucket's Amazon Resource Name (ARN), not the object's ARN";
  "the AWS KMS key policy for the KMS key that's used to encrypt the object replica must include
  the kms:Decrypt permission for the calling principal. The call to kms:Decrypt verifies the
  integrity of the S3 Bucket Key before using it." The same page's example policies grant the
  role s3:GetObjectVersionForReplication, GetObjectVersionAcl, GetObjectVersionTagging on the
  source objects, s3:ReplicateObject, ReplicateDelete, ReplicateTags on the destination objects,
  kms:Decrypt on the source key and kms:Encrypt on the destination key (with kms:ViaService).
- "Reducing the cost of SSE-KMS with Amazon S3 Bucket Keys", "Changes to note before enabling an
  S3 Bucket Key": policies that use the object ARN as encryption context "won't work with an S3
  Bucket Key"; objects written before the Bucket Key was enabled keep their object-ARN context,
  so both forms must be allowed, and nothing else.
"""

from __future__ import annotations

import pytest

from envspec import names_for
from tests.conftest import SPECS, Synthesis
from tests.iam_policy import Request, StackIam, is_allowed, kms_is_allowed

REPLICATING = [env for env in sorted(SPECS) if SPECS[env].backup.cross_region]
CONTEXT_KEY = "kms:EncryptionContext:aws:s3:arn"


class Setup:
    def __init__(self, env: str, synthesis: Synthesis):
        spec = SPECS[env]
        self.names = names = names_for(spec)
        self.region, self.dr_region = spec.aws.region, spec.aws.dr_region
        backup = StackIam(synthesis.stack(f"{env}-backup"), account=names.account, region=self.region, dr_region=self.dr_region)
        data = StackIam(synthesis.stack(f"{env}-data"), account=names.account, region=self.region)
        self.role = backup.roles()[names.files_replication_role]
        self.source_key, self.source_key_policy = data.key_policy_by_alias(names.kms_alias("data"))
        self.dr_key, self.dr_key_policy = backup.key_policy_by_alias(names.kms_alias("backup-dr"))
        self.source, self.replica = names.bucket_arn("files"), names.bucket_arn("files-dr")

    def s3(self, action: str, resource: str) -> bool:
        return is_allowed(Request(action, resource, self.role.arn), self.role.inline)

    def source_kms(self, action: str, context_arn: str, *, via: str | None = None, key: str | None = None) -> bool:
        request = Request(
            action,
            key or self.source_key,
            self.role.arn,
            {
                CONTEXT_KEY: context_arn,
                "kms:ViaService": via or f"s3.{self.region}.amazonaws.com",
                "kms:ResourceAliases": [self.names.kms_alias("data")] if key is None else [],
                "kms:CallerAccount": self.names.account,
            },
        )
        return kms_is_allowed(request, self.source_key_policy, self.role.inline)

    def dr_kms(self, action: str, context_arn: str, *, via: str | None = None) -> bool:
        request = Request(
            action,
            self.dr_key,
            self.role.arn,
            {
                CONTEXT_KEY: context_arn,
                "kms:ViaService": via or f"s3.{self.dr_region}.amazonaws.com",
                "kms:ResourceAliases": [self.names.kms_alias("backup-dr")],
                "kms:CallerAccount": self.names.account,
            },
        )
        return kms_is_allowed(request, self.dr_key_policy, self.role.inline)


@pytest.fixture(params=REPLICATING)
def setup(request: pytest.FixtureRequest, synthesis: Synthesis) -> Setup:
    return Setup(request.param, synthesis)


def test_the_role_reads_source_versions_and_writes_replicas(setup: Setup) -> None:
    objects = f"{setup.source}/uploads/2026/application.pdf"
    for action in ("s3:GetReplicationConfiguration", "s3:ListBucket"):
        assert setup.s3(action, setup.source)
    for action in ("s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"):
        assert setup.s3(action, objects)
    for action in ("s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"):
        assert setup.s3(action, f"{setup.replica}/uploads/2026/application.pdf")


def test_source_objects_decrypt_with_and_without_bucket_keys(setup: Setup) -> None:
    """With a Bucket Key S3 sends the bucket ARN; objects written before it, their own ARN."""
    assert setup.source_kms("kms:Decrypt", setup.source), "Bucket Key context (bucket ARN) must be allowed"
    assert setup.source_kms("kms:Decrypt", f"{setup.source}/uploads/2026/application.pdf")


def test_replicas_encrypt_under_the_dr_key_with_bucket_keys(setup: Setup) -> None:
    """S3 generates the replica bucket's Bucket Key (GenerateDataKey) and verifies it (Decrypt)
    with the replica bucket's ARN as context; without Bucket Keys, per object."""
    for action in ("kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt"):
        assert setup.dr_kms(action, setup.replica), action
        assert setup.dr_kms(action, f"{setup.replica}/uploads/2026/application.pdf"), action


def test_nothing_wider_than_replication(setup: Setup) -> None:
    names = setup.names
    other = names.bucket_arn("diagnostics")
    lookalike = f"{setup.source}-copy"
    # Other buckets' contexts, and a bucket whose name merely starts with the source's.
    for context in (other, f"{other}/dump.sql", lookalike, f"{lookalike}/x"):
        assert not setup.source_kms("kms:Decrypt", context), context
        assert not setup.dr_kms("kms:GenerateDataKey", context), context
    # The source key only through S3 of the source region; never for encryption.
    assert not setup.source_kms("kms:Decrypt", setup.source, via=f"secretsmanager.{setup.region}.amazonaws.com")
    assert not setup.source_kms("kms:Decrypt", setup.source, via=f"s3.{setup.dr_region}.amazonaws.com")
    assert not setup.source_kms("kms:GenerateDataKey", setup.source)
    # Another key of the account (no data-key alias) is not the source key.
    other_key = f"arn:aws:kms:{setup.region}:{names.account}:key/other"
    assert not setup.source_kms("kms:Decrypt", setup.source, key=other_key)
    # The DR key only through S3 of the DR region.
    assert not setup.dr_kms("kms:Decrypt", setup.replica, via=f"s3.{setup.region}.amazonaws.com")
    # No reads of objects or writes outside the two buckets.
    assert not setup.s3("s3:GetObject", f"{setup.source}/uploads/a.pdf")
    assert not setup.s3("s3:GetObjectVersionForReplication", f"{other}/dump.sql")
    assert not setup.s3("s3:ReplicateObject", f"{other}/dump.sql")
    assert not setup.s3("s3:PutObject", f"{setup.replica}/x")
