"""`WebAcl`: the regional WAF web ACL the load balancer controller attaches to the public ALB.

The Ingress names the ACL (`alb.ingress.kubernetes.io/wafv2-acl-name`): its ARN ends in an id AWS
generates, so no ARN is written anywhere. Logs go to a KMS-encrypted log group whose name starts
with `aws-waf-logs-` (WAF refuses any other name: AWS WAF developer guide, "Sending web ACL traffic
logs to an Amazon CloudWatch Logs log group"), with the `authorization` and `cookie` headers
redacted so no session token or credential reaches the logs.
"""

from __future__ import annotations

import json

from cdktf_cdktf_provider_aws.wafv2_web_acl import (
    Wafv2WebAcl,
    Wafv2WebAclDefaultAction,
    Wafv2WebAclDefaultActionAllow,
    Wafv2WebAclVisibilityConfig,
)
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import (
    Wafv2WebAclLoggingConfiguration,
    Wafv2WebAclLoggingConfigurationRedactedFields,
    Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader,
)
from constructs import Construct

from envspec import Names
from envspec.models import Waf
from stacks.checkov import skip_check
from stacks.edge.waf_rules import web_acl_rules
from stacks.kms import CustomerManagedKey
from stacks.logs import encrypted_log_group

REDACTED_HEADERS = ("authorization", "cookie")


class WebAcl(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Waf, names: Names, key: CustomerManagedKey, log_retention_days: int
    ):
        super().__init__(scope, construct_id)
        self.rules = web_acl_rules(settings)
        self.acl = Wafv2WebAcl(
            self,
            "acl",
            name=names.web_acl,
            description=f"{names.prefix} public load balancer",
            scope="REGIONAL",
            default_action=Wafv2WebAclDefaultAction(allow=Wafv2WebAclDefaultActionAllow()),
            rule_json=json.dumps(self.rules, separators=(",", ":")),
            visibility_config=Wafv2WebAclVisibilityConfig(
                cloudwatch_metrics_enabled=True, sampled_requests_enabled=True, metric_name=names.web_acl
            ),
            tags={"Name": names.web_acl},
        )
        rules_in_json = "checkov reads rules only from `rule` blocks, and these are in `rule_json` (nested deeper than the blocks allow): "
        skip_check(self.acl, "CKV_AWS_175", rules_in_json + "eight rules, asserted in tests/test_edge_stack.py")
        skip_check(
            self.acl,
            "CKV_AWS_192",
            rules_in_json + "AWSManagedRulesKnownBadInputsRuleSet, whose Log4JRCE rules block the Log4j lookup, is one of them",
        )
        self.log_group = encrypted_log_group(self, "log_group", name=names.waf_log_group, retention_days=log_retention_days, key=key)
        self.logging = Wafv2WebAclLoggingConfiguration(
            self,
            "logging",
            resource_arn=self.acl.arn,
            log_destination_configs=[self.log_group.arn],
            redacted_fields=[
                Wafv2WebAclLoggingConfigurationRedactedFields(
                    single_header=Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader(name=header)
                )
                for header in REDACTED_HEADERS
            ],
        )
