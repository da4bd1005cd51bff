"""`<env>-edge`: what stands in front of the public load balancer.

The WAF web ACL, the ALB access-log bucket, the hosted zone, the DNS-validated certificate (and its
expiry alarm) and ExternalDNS's Pod Identity. The load balancer controller finds all of them from
the Ingress by name (charts/ingress.py): the ACL by `wafv2-acl-name`, the certificate by the
Ingress hosts (ACM certificate discovery), the bucket by its deterministic name.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.data_aws_sns_topic import DataAwsSnsTopic
from constructs import Construct

from envspec import EnvironmentSpec
from stacks.base import EnvironmentStack
from stacks.cluster.stack import ClusterStack
from stacks.edge.access_logs import AccessLogBucket
from stacks.edge.dns import Certificate, HostedZone
from stacks.edge.external_dns import external_dns_statements
from stacks.edge.waf import WebAcl
from stacks.iam import PodIdentity
from stacks.kms import CustomerManagedKey
from stacks.logs import log_service_statement
from stacks.observability.alarms import certificate_alarm, create_alarm


class EdgeStack(EnvironmentStack):
    layer = "edge"

    def __init__(self, scope: Construct, spec: EnvironmentSpec, cluster: ClusterStack):
        super().__init__(scope, spec)
        names = self.names
        self.key = CustomerManagedKey(self, "key", names, "edge", f"{names.prefix} WAF logs", statements=[log_service_statement(names)])
        self.web_acl = WebAcl(
            self,
            "web_acl",
            settings=spec.edge.waf,
            names=names,
            key=self.key,
            log_retention_days=spec.edge.waf_log_retention_days,
        )
        self.access_logs = AccessLogBucket(self, "access_logs", names=names, retention_days=spec.edge.access_log_retention_days)
        self.zone = HostedZone(self, "zone", dns=spec.dns, names=names)
        self.certificate = Certificate(self, "certificate", dns=spec.dns, zone=self.zone)
        # The observability stack's topic, by its deterministic name (applied before this stack).
        topic = DataAwsSnsTopic(self, "alarm_topic", name=names.alarm_topic)
        self.certificate_alarm = create_alarm(self, names, certificate_alarm(spec, self.certificate.arn), topic.arn)
        self.external_dns = PodIdentity(
            self,
            "external_dns",
            names,
            cluster.control_plane.cluster.name,
            names.external_dns_service_account,
            "external-dns",
            permissions=external_dns_statements(self.zone.arn),
        )

        self.output("web_acl_name", self.web_acl.acl.name, "WAF web ACL the Ingress names (wafv2-acl-name)")
        self.output("web_acl_arn", self.web_acl.acl.arn, "WAF web ACL ARN")
        self.output("access_log_bucket", self.access_logs.name, "Bucket of the ALB access logs")
        self.output("zone_id", self.zone.zone_id, "Route 53 hosted zone of the environment's hosts")
        self.output("name_servers", self.zone.zone.name_servers, "Name servers the parent zone must delegate to (NS record)")
        self.output("certificate_arn", self.certificate.arn, "Issued ACM certificate the load balancer controller discovers by host")
