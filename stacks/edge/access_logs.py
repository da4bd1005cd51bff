"""`AccessLogBucket`: where the public ALB writes its access logs.

Facts from the Elastic Load Balancing user guide ("Enable access logs for your Application Load
Balancer"): the bucket must use SSE-S3 (Amazon S3-managed keys; SSE-KMS is not supported for access
logs), and in Regions available before August 2022, such as ap-northeast-1, the bucket policy
grants `s3:PutObject` to that Region's Elastic Load Balancing account (582318560864 for
ap-northeast-1) on `<prefix>/AWSLogs/<account>/*`; the `logdelivery.elasticloadbalancing.amazonaws.com`
service principal applies to Regions opened since.
"""

from __future__ import annotations

from constructs import Construct

from envspec import Names
from stacks.checkov import skip_check
from stacks.policy import Statement
from stacks.storage import Lifecycle, SecureBucket
from synth.errors import construct_error

ELB_ACCOUNTS = {"ap-northeast-1": "582318560864", "ap-northeast-3": "383597477331"}


class AccessLogBucket(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, names: Names, retention_days: int):
        super().__init__(scope, construct_id)
        if names.region not in ELB_ACCOUNTS:
            raise construct_error(self, f"no Elastic Load Balancing log-delivery account recorded for {names.region}")
        self.name = names.alb_access_log_bucket
        self.prefix = names.alb_access_log_prefix
        self.writer = f"arn:aws:iam::{ELB_ACCOUNTS[names.region]}:root"
        self.object_arn = f"arn:aws:s3:::{self.name}/{self.prefix}/AWSLogs/{names.account}/*"
        self.secure = SecureBucket(
            self,
            "bucket",
            name=self.name,
            key=None,  # SSE-S3: the only encryption ALB access-log delivery supports
            access_log_bucket=None,
            lifecycle=Lifecycle(noncurrent_version_days=7, expiration_days=retention_days),
            policy_statements=[
                Statement(
                    sid="LoadBalancerDeliversAccessLogs",
                    actions=["s3:PutObject"],
                    resources=[self.object_arn],
                    principals={"AWS": [self.writer]},
                )
            ],
        )
        bucket = self.secure.bucket
        skip_check(bucket, "CKV_AWS_18", "this bucket holds access logs; logging access to it would need a log bucket of its own")
        skip_check(bucket, "CKV_AWS_144", "load balancer access logs are diagnostics kept in-region; no DR copy is needed")
