"""`HostedZone` and `Certificate`: the environment's public zone and the DNS-validated certificate
for its hosts.

The certificate is validated by the CNAME records ACM asks for, which Terraform writes into the
zone; `aws_acm_certificate_validation` waits until ACM has issued it. ACM can only see those
records once the parent zone delegates to this zone's name servers (output `name_servers`;
docs/edge-and-security.md, "DNS delegation"): until then the apply waits on validation, and everything else (WAF,
logs, cluster, application) works already.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from cdktf import TerraformIterator, TerraformStack, Token
from cdktf_cdktf_provider_aws.acm_certificate import AcmCertificate, AcmCertificateOptions
from cdktf_cdktf_provider_aws.acm_certificate_validation import AcmCertificateValidation
from cdktf_cdktf_provider_aws.route53_record import Route53Record
from cdktf_cdktf_provider_aws.route53_zone import Route53Zone
from constructs import Construct

from envspec import Names
from envspec.models import Dns
from stacks.checkov import skip_check


class HostedZone(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, dns: Dns, names: Names):
        super().__init__(scope, construct_id)
        self.zone = Route53Zone(
            self, "zone", name=dns.zone_name, comment=f"{names.prefix} public hosts (ExternalDNS writes the Ingress records)"
        )
        skip_check(self.zone, "CKV2_AWS_38", "DNSSEC signing needs a DS record in the parent zone, which this project does not own")
        skip_check(
            self.zone, "CKV2_AWS_39", "query logging for public zones is only available in us-east-1; the zone lives in the primary region"
        )

    @property
    def zone_id(self) -> str:
        return self.zone.zone_id

    @property
    def arn(self) -> str:
        return self.zone.arn


class Certificate(Construct):
    """A DNS-validated certificate for `hosts` (the first is its domain name), validated in zone `zone_id`.

    ACM asks for the same validation CNAME for a name in every certificate of the same account, whatever the region
    (ACM User Guide, "DNS validation": each record is "created specifically for your domain and your account", and
    "since the CNAME validation token works for any AWS Region, you can re-create the same certificate in multiple
    Regions"). So a record gets exactly one owner: the certificate writes records only for its hosts outside
    `validated_elsewhere` (names another stack's certificate already validates: the standby's certificate shares the
    public hosts with the primary's), and waits on the FQDNs of both, its own records and the shared names' (read from
    its own validation options, which are the other certificate's). Destroying or replacing one side's edge stack
    then never deletes a record the other side's certificate renews with."""

    def __init__(self, scope: Construct, construct_id: str, *, hosts: Sequence[str], zone_id: str, validated_elsewhere: Sequence[str] = ()):
        super().__init__(scope, construct_id)
        self.hosts = tuple(hosts)
        self.shared_hosts = tuple(host for host in self.hosts if host in validated_elsewhere)
        self.own_hosts = tuple(host for host in self.hosts if host not in self.shared_hosts)
        self.certificate = AcmCertificate(
            self,
            "certificate",
            domain_name=self.hosts[0],
            subject_alternative_names=list(self.hosts[1:]),
            validation_method="DNS",
            options=AcmCertificateOptions(certificate_transparency_logging_preference="ENABLED"),
            lifecycle={"create_before_destroy": True},
            tags={"Name": self.hosts[0]},
        )
        # One record per host, keyed by the host name itself: keys must be known at plan time, and the
        # validation options (their record names and values) are known only once ACM has the request.
        certificate_ref = f"aws_acm_certificate.{TerraformStack.of(self).get_logical_id(self.certificate)}"

        def option(field: str) -> str:
            return f"${{{{for option in {certificate_ref}.domain_validation_options : option.domain_name => option.{field}}}[each.value]}}"

        self.validation_records = Route53Record(
            self,
            # A new id where records are shared: the records of the former id are forgotten, not destroyed (`removed`).
            "origin_validation_record" if self.shared_hosts else "validation_record",
            for_each=TerraformIterator.from_list(list(self.own_hosts)),
            zone_id=zone_id,
            name=option("resource_record_name"),
            type=option("resource_record_type"),
            records=[option("resource_record_value")],
            ttl=300,
            allow_overwrite=True,
        )
        fqdns = f"[for record in {self._records_ref()} : record.fqdn]"
        if self.shared_hosts:
            shared = ", ".join(f'"{host}"' for host in self.shared_hosts)
            fqdns = (
                f"concat({fqdns}, [for option in {certificate_ref}.domain_validation_options : "
                f'trimsuffix(option.resource_record_name, ".") if contains([{shared}], option.domain_name)])'
            )
            _forget_shared_records(self)
        self.validation = AcmCertificateValidation(
            self, "validation", certificate_arn=self.certificate.arn, validation_record_fqdns=Token.as_list(f"${{{fqdns}}}")
        )

    def _records_ref(self) -> str:
        return f"aws_route53_record.{TerraformStack.of(self).get_logical_id(self.validation_records)}"

    @property
    def arn(self) -> str:
        """The issued certificate's ARN (known once validation has completed)."""
        return self.validation.certificate_arn


def _forget_shared_records(certificate: Certificate) -> None:
    """Until this design the standby's certificate also wrote the shared names' records, as resource `validation_record`.
    Dropping their keys would destroy the records the primary's certificate renews with; a `removed` block with
    `destroy = false` (Terraform 1.7+, "Remove a resource from state") drops that former resource from the state
    instead, and the new resource takes over its one own record by UPSERT (`allow_overwrite`)."""
    stack = TerraformStack.of(certificate)
    scopes = certificate.node.scopes
    components = [scope.node.id for scope in scopes[scopes.index(stack) + 1 :]] + ["validation_record"]
    # cdktf's logical id of a nested element: its path's ids joined by "_" and the first 8 hex digits of the
    # MD5 of the path (cdktf lib/private/unique.ts `makeUniqueId`); the primary's record still carries it.
    digest = hashlib.md5("/".join(components).encode(), usedforsecurity=False).hexdigest()[:8].upper()
    stack.add_override("removed", [{"from": f"aws_route53_record.{'_'.join(components)}_{digest}", "lifecycle": {"destroy": False}}])
