"""The log groups the log agent writes to, and the agent's Pod Identity, which may write to nothing else.

One group per purpose (envspec.naming CONTAINER_LOG_PURPOSES), created here before the agent runs,
encrypted with the cluster key (its policy admits CloudWatch Logs for this account's groups) and kept
as long as the spec says. The agent never creates a group: Fluent Bit's `cloudwatch_logs` output
(fluent/fluent-bit v4.2.2, the engine of aws-for-fluent-bit 3.2.1,
plugins/out_cloudwatch_logs/cloudwatch_api.c) calls CreateLogGroup only with `auto_create_group`
and PutRetentionPolicy only with `log_retention_days`; with neither set it calls CreateLogStream and
PutLogEvents, and those two, on these groups, are all the role allows. A group it could create itself
would have no key and keep its events forever.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from constructs import Construct

from envspec import Names
from envspec.models import ContainerLogs
from envspec.naming import CONTAINER_LOG_PURPOSES
from stacks.iam import PodIdentity
from stacks.kms import CustomerManagedKey
from stacks.logs import encrypted_log_group
from stacks.policy import Statement

AGENT_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")


def log_group_arn(names: Names, group: str) -> str:
    return f"arn:aws:logs:{names.region}:{names.account}:log-group:{group}"


def agent_statements(names: Names) -> list[Statement]:
    """CreateLogStream authorizes on the log group, PutLogEvents on the log stream (Service Authorization
    Reference, Amazon CloudWatch Logs): each group's ARN and its streams', nothing else."""
    resources = []
    for purpose in CONTAINER_LOG_PURPOSES:
        arn = log_group_arn(names, names.container_log_group(purpose))
        resources += [arn, f"{arn}:log-stream:*"]
    return [Statement(sid="WriteContainerLogGroups", actions=list(AGENT_ACTIONS), resources=resources)]


class ContainerLogGroups(Construct):
    """`groups`: purpose -> log group; `agent`: the Pod Identity of the log agent's service account."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: ContainerLogs, names: Names, key: CustomerManagedKey, cluster_name: str
    ):
        super().__init__(scope, construct_id)
        self.groups: dict[str, CloudwatchLogGroup] = {
            purpose: encrypted_log_group(
                self, purpose, name=names.container_log_group(purpose), retention_days=settings.retention_days(purpose), key=key
            )
            for purpose in CONTAINER_LOG_PURPOSES
        }
        self.agent = PodIdentity(
            self,
            "agent",
            names=names,
            cluster_name=cluster_name,
            service_account=names.log_agent_service_account,
            purpose="log-agent",
            permissions=agent_statements(names),
        )
