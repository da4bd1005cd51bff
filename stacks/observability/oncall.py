"""The Lambda function that delivers the infrastructure topics to on-call (oncall_forwarder.py).

Why a function and not an SNS subscription of the receivers: PagerDuty's CloudWatch integration
takes SNS as an HTTPS subscription whose URL embeds the integration key, so the key would sit in the
Terraform state (and in every plan of the subscription); Slack has no SNS integration at all but AWS
Chatbot, whose workspace must be authorised by hand in the console. The function instead reads the
Alertmanager's own credentials from Secrets Manager when it runs: the same receivers as the cluster's
alerts, no credential in code, plan or state, and SNS confirms a Lambda subscription by itself.

The function runs outside the VPC (it calls PagerDuty and Slack on the internet and Secrets Manager's
regional endpoint, and touches no VPC resource). Deliveries that still fail after Lambda's retries go
to an encrypted dead-letter queue; an alarm on that queue notifies the alarm topic, whose e-mail
subscribers hear of it even when the forwarder cannot deliver.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunctionDeadLetterConfig,
    LambdaFunctionEnvironment,
)
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from constructs import Construct

from envspec import EnvironmentSpec, Names
from stacks.iam import Role, service_trust
from stacks.kms import CustomerManagedKey
from stacks.lambda_package import packaged_function, reproducible_zip
from stacks.logs import encrypted_log_group
from stacks.observability.alarms import AlarmDefinition, Metric, MissingData
from stacks.observability.topic import EncryptedTopic
from stacks.policy import Condition, Statement

HANDLER_SOURCE = Path(__file__).with_name("oncall_forwarder.py")
TIMEOUT_SECONDS = 30
# A burst of alarms queues in Lambda's asynchronous invocation queue rather than fanning out.
RESERVED_CONCURRENCY = 5
LOG_RETENTION_DAYS = 365
DLQ_RETENTION_SECONDS = 14 * 24 * 3600


def package() -> tuple[Path, str]:
    """A byte-for-byte reproducible zip of the handler (stored, not compressed: readable by the output
    checks), and its base64 SHA-256, Lambda's code hash."""
    source = HANDLER_SOURCE.read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:16]
    return reproducible_zip(Path(tempfile.gettempdir()) / f"ai-subsidy-oncall-forwarder-{digest}.zip", {HANDLER_SOURCE.name: source})


def dead_letter_queue_name(names: Names) -> str:
    return f"{names.oncall_forwarder}-dead-letters"


def dead_letter_alarm(names: Names) -> AlarmDefinition:
    """Anything on the forwarder's dead-letter queue is a notification on-call never received."""
    return AlarmDefinition(
        purpose="oncall-forwarder-dead-letters",
        summary="Notifications the on-call forwarder could not deliver to PagerDuty or Slack wait in its dead-letter queue.",
        comparison="GreaterThanThreshold",
        threshold=0,
        period=300,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        missing=MissingData("notBreaching", "SQS publishes no datapoint for an idle empty queue"),
        runbook=("aws-oncall-forwarder", "dead-letters"),
        metric=Metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": dead_letter_queue_name(names)}, "Maximum"),
    )


def function_environment(spec: EnvironmentSpec, names: Names, *, critical_topic_arns: str) -> dict[str, str]:
    """The forwarder's settings: no PagerDuty secret where the environment does not page, so there
    critical notifications go to Slack only, as Alertmanager routes them."""
    variables = {"ENVIRONMENT": spec.name, "CRITICAL_TOPIC_ARNS": critical_topic_arns, "SLACK_SECRET_ID": names.slack_secret.remote_name}
    if names.pagerduty_secret:
        variables["PAGERDUTY_SECRET_ID"] = names.pagerduty_secret.remote_name
    return variables


class OnCallForwarder(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: EnvironmentSpec,
        names: Names,
        key: CustomerManagedKey,
        critical: EncryptedTopic,
        warning: Sequence[EncryptedTopic],
    ):
        super().__init__(scope, construct_id)
        name = names.oncall_forwarder
        region = names.region
        # PagerDuty's key exists only where the environment pages (`alerting.page_on_call`).
        receivers = [binding.remote_name for binding in (names.pagerduty_secret, names.slack_secret) if binding]
        log_group = encrypted_log_group(self, "log_group", name=f"/aws/lambda/{name}", retention_days=LOG_RETENTION_DAYS, key=key)
        self.dead_letters = SqsQueue(
            self,
            "dead_letters",
            name=dead_letter_queue_name(names),
            kms_master_key_id=key.arn,
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            tags={"Name": dead_letter_queue_name(names)},
        )
        self.role = Role(
            self,
            "role",
            name=name,
            description=f"{name}: reads the alert receivers' credentials, writes its log, dead-letters what it cannot deliver",
            trust=[service_trust("lambda.amazonaws.com")],
            permissions=[
                Statement(sid="WriteOwnLog", actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[f"{log_group.arn}:*"]),
                Statement(
                    sid="ReadReceiverCredentials",
                    actions=["secretsmanager:GetSecretValue"],
                    resources=[names.secret_arn(secret) for secret in receivers],
                ),
                Statement(
                    sid="DecryptReceiverCredentialsThroughSecretsManager",
                    actions=["kms:Decrypt"],
                    resources=[f"arn:aws:kms:{region}:{names.account}:key/*"],
                    conditions=[
                        Condition("StringEquals", "kms:ViaService", [f"secretsmanager.{region}.amazonaws.com"]),
                        Condition("StringLike", "kms:EncryptionContext:SecretARN", [names.secret_arn(secret) for secret in receivers]),
                    ],
                ),
                Statement(sid="DeadLetter", actions=["sqs:SendMessage"], resources=[self.dead_letters.arn]),
                Statement(sid="EncryptDeadLetters", actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[key.arn]),
            ],
        )
        archive, _ = package()
        self.function = packaged_function(
            self,
            archive=archive,
            handler_source=HANDLER_SOURCE,
            name=name,
            description="Forwards the infrastructure alarm and notice topics to PagerDuty and Slack",
            role_arn=self.role.arn,
            timeout_seconds=TIMEOUT_SECONDS,
            memory_size=128,
            checkov_skips={
                "CKV_AWS_117": "calls PagerDuty and Slack on the internet and Secrets Manager; no VPC resource, so no NAT path or endpoint",
            },
            reserved_concurrent_executions=RESERVED_CONCURRENCY,
            kms_key_arn=key.arn,
            environment=LambdaFunctionEnvironment(variables=function_environment(spec, names, critical_topic_arns=critical.arn)),
            dead_letter_config=LambdaFunctionDeadLetterConfig(target_arn=self.dead_letters.arn),
            depends_on=[log_group],
        )
        for label, topic in (("critical", critical), *((f"warning_{i}", t) for i, t in enumerate(warning))):
            permission = LambdaPermission(
                self,
                f"{label}_invoke",
                statement_id=f"{label}-topic",
                action="lambda:InvokeFunction",
                function_name=self.function.function_name,
                principal="sns.amazonaws.com",
                source_arn=topic.arn,
            )
            SnsTopicSubscription(
                self,
                f"{label}_subscription",
                topic_arn=topic.arn,
                protocol="lambda",
                endpoint=self.function.arn,
                depends_on=[permission],
            )
