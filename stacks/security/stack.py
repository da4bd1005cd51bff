"""`<env>-security`: threat detection, the audit trail with its CIS alarms, and posture checks.

Every signal reaches on-call through the observability stack's alarm topic, found by its
deterministic name: the CIS alarms as CloudWatch alarms (named with the environment prefix, which
the topic policy admits), GuardDuty findings through an EventBridge rule (named with the prefix too).
Security Hub findings are read in its console (docs/operations/daily.md).
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudwatch_log_metric_filter import CloudwatchLogMetricFilter, CloudwatchLogMetricFilterMetricTransformation
from cdktf_cdktf_provider_aws.data_aws_sns_topic import DataAwsSnsTopic
from constructs import Construct

from envspec import EnvironmentSpec
from stacks.base import EnvironmentStack
from stacks.kms import CustomerManagedKey
from stacks.logs import log_service_statement
from stacks.observability.alarms import AlarmDefinition, Metric, MissingData, create_alarm
from stacks.security.cis_filters import CIS_FILTERS
from stacks.security.guardduty import ThreatDetection
from stacks.security.posture import PostureChecks, config_key_statements
from stacks.security.trail import AuditTrail, trail_key_statements


class SecurityStack(EnvironmentStack):
    layer = "security"

    def __init__(self, scope: Construct, spec: EnvironmentSpec):
        super().__init__(scope, spec)
        names = self.names
        settings = spec.security
        topic = DataAwsSnsTopic(self, "alarm_topic", name=names.alarm_topic)
        self.key = CustomerManagedKey(
            self,
            "key",
            names=names,
            purpose="audit",
            description=f"{names.prefix} CloudTrail logs and AWS Config snapshots",
            statements=[*trail_key_statements(names), log_service_statement(names), *config_key_statements(names)],
        )
        self.trail = AuditTrail(self, "trail", settings=settings, names=names, key=self.key)
        self.metric_namespace = f"{names.prefix}/cis"
        self.filters = []
        self.alarms = []
        for item in CIS_FILTERS:
            logical = item.purpose.replace("-", "_")
            self.filters.append(
                CloudwatchLogMetricFilter(
                    self,
                    f"filter_{logical}",
                    name=item.purpose,
                    log_group_name=self.trail.log_group.name,
                    pattern=item.pattern,
                    metric_transformation=CloudwatchLogMetricFilterMetricTransformation(
                        name=item.purpose, namespace=self.metric_namespace, value="1", default_value="0"
                    ),
                )
            )
            definition = AlarmDefinition(
                purpose=item.purpose,
                summary=f"{item.summary} (CIS, Security Hub {item.control})",
                comparison="GreaterThanOrEqualToThreshold",
                threshold=1,
                period=300,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                missing=MissingData("notBreaching", "the filter publishes only when a trail event matches"),
                runbook=("aws-security", item.purpose),
                metric=Metric(self.metric_namespace, item.purpose, {}, "Sum"),
            )
            self.alarms.append(create_alarm(self, names=names, definition=definition, topic_arn=topic.arn))
        self.threat_detection = ThreatDetection(
            self, "guardduty", names=names, min_severity=settings.finding_min_severity, topic_arn=topic.arn
        )
        self.posture = PostureChecks(self, "posture", names=names, key=self.key) if settings.posture_checks else None

        self.output("trail_arn", self.trail.trail.arn, "Multi-region CloudTrail trail")
        self.output("trail_bucket", self.trail.bucket.bucket.id, "Object-Locked bucket of the trail's log files")
        self.output("guardduty_detector_id", self.threat_detection.detector.id, "GuardDuty detector")
        self.output("cis_alarm_names", [alarm.alarm_name for alarm in self.alarms], "CIS metric-filter alarms")
