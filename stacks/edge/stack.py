"""`<env>-edge`: what stands in front of the public load balancer.

The WAF web ACL, the ALB access-log bucket, the hosted zone, the DNS-validated certificate (and its
expiry alarm) and ExternalDNS's Pod Identity. The load balancer controller finds all of them from
the Ingress by name (charts/ingress.py): the ACL by `wafv2-acl-name`, the certificate by the
Ingress hosts (ACM certificate discovery), the bucket by its deterministic name.

On the standby's names the same stack is `<env>-dr-edge`: the DR region's WAF, access-log bucket and
certificate (validated in the primary's zone, which Route 53 serves globally), and the standby ExternalDNS's
Pod Identity. The failover records are `<env>-dr-dns` (stacks/edge/failover.py).
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.data_aws_route53_zone import DataAwsRoute53Zone
from cdktf_cdktf_provider_aws.data_aws_sns_topic import DataAwsSnsTopic
from constructs import Construct

from envspec import EnvironmentSpec, Names
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

    def __init__(self, scope: Construct, spec: EnvironmentSpec, *, cluster: ClusterStack, names: Names | None = None):
        super().__init__(scope, spec, names=names)
        names, spec = self.names, self.spec
        self.key = CustomerManagedKey(
            self, "key", names=names, purpose="edge", description=f"{names.prefix} WAF logs", statements=[log_service_statement(names)]
        )
        self.web_acl = WebAcl(
            self,
            "web_acl",
            settings=spec.edge.waf,
            names=names,
            key=self.key,
            log_retention_days=spec.edge.waf_log_retention_days,
        )
        self.access_logs = AccessLogBucket(self, "access_logs", names=names, retention_days=spec.edge.access_log_retention_days)
        self.zone: HostedZone | None = None
        if names.is_standby:
            zone = DataAwsRoute53Zone(self, "zone", name=spec.dns.zone_name, private_zone=False)
            zone_id, zone_arn = zone.zone_id, zone.arn
        else:
            self.zone = HostedZone(self, "zone", dns=spec.dns, names=names)
            zone_id, zone_arn = self.zone.zone_id, self.zone.arn
        # The standby's certificate shares the public hosts with the primary's, whose edge stack owns their validation records.
        primary_hosts = (spec.dns.frontend_host, spec.dns.api_host, names.primary_origin_host) if names.is_standby else ()
        self.certificate = Certificate(
            self, "certificate", hosts=names.ingress_hosts, zone_id=zone_id, validated_elsewhere=[host for host in primary_hosts if host]
        )
        # The observability stack's topic (the standby's: `<env>-dr-data`'s), by its deterministic name (applied before this stack).
        topic = DataAwsSnsTopic(self, "alarm_topic", name=names.alarm_topic)
        self.certificate_alarm = create_alarm(
            self, names=names, definition=certificate_alarm(spec, self.certificate.arn), topic_arn=topic.arn
        )
        self.external_dns = PodIdentity(
            self,
            "external_dns",
            names=names,
            cluster_name=cluster.cluster_name,
            service_account=names.external_dns_service_account,
            purpose="external-dns",
            permissions=external_dns_statements(zone_arn),
        )

        self.output("web_acl_name", self.web_acl.acl.name, "WAF web ACL the Ingress names (wafv2-acl-name)")
        self.output("web_acl_arn", self.web_acl.acl.arn, "WAF web ACL ARN")
        self.output("access_log_bucket", self.access_logs.name, "Bucket of the ALB access logs")
        self.output("zone_id", zone_id, "Route 53 hosted zone of the environment's hosts")
        if self.zone is not None:
            self.output("name_servers", self.zone.zone.name_servers, "Name servers the parent zone must delegate to (NS record)")
        self.output("certificate_arn", self.certificate.arn, "Issued ACM certificate the load balancer controller discovers by host")
