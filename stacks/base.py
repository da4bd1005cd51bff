"""Base for every stack: provider, remote state backend and tags, all from the environment spec."""

from __future__ import annotations

from cdktf import LocalBackend, S3Backend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags, AwsProviderEndpoints
from constructs import Construct

from envspec import EnvironmentSpec, Names, names_for
from envspec.targets import EMULATOR_CONTEXT, EmulatorTarget

# Every service the stacks call, pointed at the emulator in an emulator synthesis.
EMULATED_SERVICES = (
    "acm", "backup", "cloudtrail", "cloudwatch", "configservice", "ec2", "eks", "elasticache", "eventbridge", "events", "guardduty",
    "iam", "kms", "logs", "rds", "route53", "s3", "secretsmanager", "securityhub", "sns", "sqs", "sts", "wafv2",
)  # fmt: skip


class EnvironmentStack(TerraformStack):
    """A stack `<env>-<layer>` with the environment's AWS provider(s) and its own S3 state.

    The `state` layer keeps local state: it creates the bucket every other stack's backend uses. With the
    standby's names (`names.standby`) the stack is `<env>-dr-<layer>` in the DR region, its state in the
    primary's state bucket (one bucket per environment; a region loss leaves it to the replicas of `state`).
    """

    layer: str = ""

    def __init__(self, scope: Construct, spec: EnvironmentSpec, *, names: Names | None = None):
        self.names = names or names_for(spec)
        self.spec = spec = self.names.spec
        super().__init__(scope, self.names.stack_id(self.layer))
        emulator = self.node.try_get_context(EMULATOR_CONTEXT)
        self.emulator = EmulatorTarget(**emulator) if emulator else None
        self.provider = self._aws_provider("aws", spec.aws.region)
        self._dr_provider: AwsProvider | None = None
        if self.emulator is not None:
            LocalBackend(self, path=f"{self.emulator.state_dir}/{self.node.id}.tfstate")
        elif self.layer == "state":
            LocalBackend(self, path=f"../../../.state/{self.node.id}.tfstate")
        else:
            S3Backend(
                self,
                bucket=self.names.state_bucket,
                key=self.names.state_key(self.layer),
                region=self.names.primary_region,
                encrypt=True,
                kms_key_id=self.names.state_kms_alias_arn,
            )
            # Native S3 locking (Terraform >= 1.10); no DynamoDB table.
            self.add_override("terraform.backend.s3.use_lockfile", True)

    def _aws_provider(self, construct_id: str, region: str, alias: str | None = None) -> AwsProvider:
        emulated = {}
        if self.emulator is not None:
            emulated = {
                "endpoints": [AwsProviderEndpoints(**dict.fromkeys(EMULATED_SERVICES, self.emulator.endpoint))],
                "s3_use_path_style": True,
                "skip_credentials_validation": True,
                "skip_requesting_account_id": True,
                "skip_metadata_api_check": "true",
            }
        return AwsProvider(
            self,
            construct_id,
            region=region,
            alias=alias,
            allowed_account_ids=None if self.emulator else [self.spec.aws.account_id],
            default_tags=[AwsProviderDefaultTags(tags=self.names.tags())],
            **emulated,
        )

    @property
    def dr_provider(self) -> AwsProvider:
        """Provider for the other region (the DR region; the primary's for a standby stack), created on first use."""
        if self._dr_provider is None:
            self._dr_provider = self._aws_provider("aws_dr", self.spec.aws.dr_region, alias="dr")
        return self._dr_provider

    def output(self, name: str, value: object, description: str, sensitive: bool = False) -> TerraformOutput:
        return TerraformOutput(self, name, value=value, description=description, sensitive=sensitive)
