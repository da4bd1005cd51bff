"""`<env>-dr-dns`: the Route 53 failover records of the public hosts and the health check of the primary.

Who writes which record. ExternalDNS (charts/ingress.py) writes, on each side, only that side's origin host
(`primary-origin.<zone>`, `dr-origin.<zone>`: annotation `external-dns.alpha.kubernetes.io/hostname` with
`ingress-hostname-source: annotation-only`, kubernetes-sigs/external-dns v0.21.0 source/ingress.go), an alias
to that side's ALB. Terraform here owns the public hosts: a PRIMARY alias to the primary origin with the
health check, and a SECONDARY alias to the DR origin. ExternalDNS cannot own them: a failover record needs
the health check's id (annotation `aws-health-check-id`, docs/tutorials/aws.md at v0.21.0: "ExternalDNS does
not support creating healthchecks"), which exists only after this stack is applied, and the manifests are
rendered from the spec alone.

The health check probes `https://<primary origin>/api/health` (the backend's readiness path through the ALB,
TLS with SNI). It must not probe a public host: that resolves through these very records, so once the
primary fails the checkers would reach the standby, call the primary healthy again and flap. The origin host
always resolves to the primary's ALB.

Both records evaluate their target's health (the origin's alias to the ALB, which is unhealthy while no
target is): Route 53 answers with the SECONDARY only while the primary is unhealthy *and* the standby's ALB
has ready targets (Route 53 Developer Guide, "How Amazon Route 53 chooses records when health checking is
configured": when every record is unhealthy it answers as if all were healthy, i.e. with the primary), so
traffic does not move to a standby whose applications are still at zero replicas.

Applied last (after both sides' Ingresses exist): Route 53 refuses an alias to a record that does not exist.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.data_aws_route53_zone import DataAwsRoute53Zone
from cdktf_cdktf_provider_aws.route53_health_check import Route53HealthCheck
from cdktf_cdktf_provider_aws.route53_record import Route53Record, Route53RecordAlias, Route53RecordFailoverRoutingPolicy
from constructs import Construct

from envspec import EnvironmentSpec, Names
from envspec.naming import BACKEND
from stacks.base import EnvironmentStack
from stacks.checkov import skip_check

HTTPS_PORT = 443


class FailoverRecords(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, names: Names, zone_id: str):
        super().__init__(scope, construct_id)
        spec, primary_origin, standby_origin = names.spec, names.primary_origin_host, names.origin_host
        dr = spec.dr
        self.health_check = Route53HealthCheck(
            self,
            "primary_health",
            type="HTTPS",
            fqdn=primary_origin,
            port=HTTPS_PORT,
            resource_path=BACKEND.health_path,
            enable_sni=True,
            request_interval=dr.health_check_interval_seconds,
            failure_threshold=dr.health_check_failure_threshold,
            tags={"Name": names.failover_health_check},
        )
        self.records: dict[tuple[str, str], Route53Record] = {}
        for host in (spec.dns.frontend_host, spec.dns.api_host):
            label = host.replace(".", "_").replace("-", "_")
            for role, origin, health in (("primary", primary_origin, self.health_check.id), ("dr", standby_origin, None)):
                record = self.records[(host, role)] = Route53Record(
                    self,
                    f"{label}_{role}",
                    zone_id=zone_id,
                    name=host,
                    type="A",
                    set_identifier=names.failover_set_identifier(role),
                    failover_routing_policy=Route53RecordFailoverRoutingPolicy(type="PRIMARY" if role == "primary" else "SECONDARY"),
                    health_check_id=health,
                    alias=Route53RecordAlias(name=origin, zone_id=zone_id, evaluate_target_health=True),
                )
                skip_check(
                    record,
                    "CKV2_AWS_23",
                    "an alias to the side's origin record, which ExternalDNS keeps pointing at that side's live ALB (and "
                    "deletes with it); Route 53 refuses an alias whose target record does not exist",
                )


class FailoverDnsStack(EnvironmentStack):
    layer = "dns"

    def __init__(self, scope: Construct, spec: EnvironmentSpec, *, names: Names):
        if not names.is_standby:
            raise ValueError("FailoverDnsStack takes the standby's names (names.standby)")
        super().__init__(scope, spec, names=names)
        zone = DataAwsRoute53Zone(self, "zone", name=self.spec.dns.zone_name, private_zone=False)
        self.failover = FailoverRecords(self, "failover", names=self.names, zone_id=zone.zone_id)
        self.output("health_check_id", self.failover.health_check.id, "Route 53 health check of the primary's /api/health")
        self.output(
            "failover_records",
            {f"{host} {role}": record.fqdn for (host, role), record in self.failover.records.items()},
            "The public hosts' failover records (PRIMARY with the health check, SECONDARY to the standby)",
        )
