"""`ThreatDetection`: GuardDuty with EKS audit-log and runtime monitoring, S3 and RDS protection,
and the rule that pages on-call for findings of medium severity and above.

Runtime monitoring uses the agent GuardDuty manages (`EKS_ADDON_MANAGEMENT`): GuardDuty installs
the `aws-guardduty-agent` EKS add-on (namespace `amazon-guardduty`) and creates the
`com.amazonaws.<region>.guardduty-data` VPC endpoint, with private DNS and a security group of its own
open to the VPC's CIDR, in subnets it picks by free addresses (GuardDuty user guide, "How Runtime
Monitoring works with Amazon EKS clusters"; "How the security agent connects to GuardDuty"). So the
project creates no such endpoint and keeps the path open instead: the ECR endpoint admits the agent's
registries, no NetworkPolicy selects its namespace, and the network ACLs pass HTTPS from the nodes to
every subnet (tests/test_guardduty_agent_path.py). Disabling runtime monitoring leaves the endpoint
behind unless GuardDuty removes it (docs/security.md, "Tearing down").

Findings reach the observability stack's alarm topic (found by its deterministic name) through an
EventBridge rule; GuardDuty severities: Low 1.0-3.9, Medium 4.0-6.9, High 7.0-8.9 (user guide,
"Severity levels of GuardDuty findings").
"""

from __future__ import annotations

import json

from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.guardduty_detector import GuarddutyDetector
from cdktf_cdktf_provider_aws.guardduty_detector_feature import GuarddutyDetectorFeature, GuarddutyDetectorFeatureAdditionalConfiguration
from constructs import Construct

from envspec import Names
from stacks.checkov import skip_check

# Detector features (GuardDuty API `DetectorFeatureConfiguration`), each with its additional configuration.
FEATURES: dict[str, tuple[str, ...]] = {
    "EKS_AUDIT_LOGS": (),
    "RUNTIME_MONITORING": ("EKS_ADDON_MANAGEMENT",),
    "S3_DATA_EVENTS": (),
    "RDS_LOGIN_EVENTS": (),
}


def finding_pattern(min_severity: float) -> dict[str, object]:
    return {
        "source": ["aws.guardduty"],
        "detail-type": ["GuardDuty Finding"],
        "detail": {"severity": [{"numeric": [">=", min_severity]}]},
    }


class ThreatDetection(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, names: Names, min_severity: float, topic_arn: str):
        super().__init__(scope, construct_id)
        self.detector = GuarddutyDetector(
            self, "detector", enable=True, finding_publishing_frequency="FIFTEEN_MINUTES", tags={"Name": names.prefix}
        )
        skip_check(
            self.detector,
            "CKV2_AWS_3",
            "each environment has an account of its own outside an AWS Organization: there is no organization configuration to set",
        )
        self.features = [
            GuarddutyDetectorFeature(
                self,
                f"feature_{feature.lower()}",
                detector_id=self.detector.id,
                name=feature,
                status="ENABLED",
                additional_configuration=[
                    GuarddutyDetectorFeatureAdditionalConfiguration(name=extra, status="ENABLED") for extra in additional
                ]
                or None,
            )
            for feature, additional in FEATURES.items()
        ]
        self.rule = CloudwatchEventRule(
            self,
            "findings",
            name=names.event_rule("guardduty-findings"),
            description=f"GuardDuty findings of severity {min_severity:g} and above, to on-call",
            event_pattern=json.dumps(finding_pattern(min_severity), separators=(",", ":")),
            tags={"Name": names.event_rule("guardduty-findings")},
        )
        CloudwatchEventTarget(self, "findings_to_on_call", rule=self.rule.name, target_id="alarm-topic", arn=topic_arn)
