"""`HostedZone` and `Certificate`: the environment's public zone and the DNS-validated certificate
for its hosts.

The certificate is validated by the CNAME records ACM asks for, which Terraform writes into the
zone; `aws_acm_certificate_validation` waits until ACM has issued it. ACM can only see those
records once the parent zone delegates to this zone's name servers (output `name_servers`;
README, "DNS delegation"): until then the apply waits on validation, and everything else (WAF,
logs, cluster, application) works already.
"""

from __future__ import annotations

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

    ACM asks for the same validation CNAME for a domain name in another region's certificate of the same account
    (hashicorp/terraform-provider-aws#13653: the record "already exists" for a certificate of the same domain in
    another region), so the standby's certificate writes the same records (`allow_overwrite`)."""

    def __init__(self, scope: Construct, construct_id: str, *, hosts: Sequence[str], zone_id: str):
        super().__init__(scope, construct_id)
        self.hosts = tuple(hosts)
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
        hosts = TerraformIterator.from_list(list(self.hosts))
        certificate_ref = f"aws_acm_certificate.{TerraformStack.of(self).get_logical_id(self.certificate)}"

        def option(field: str) -> str:
            return f"${{{{for option in {certificate_ref}.domain_validation_options : option.domain_name => option.{field}}}[each.value]}}"

        self.validation_records = Route53Record(
            self,
            "validation_record",
            for_each=hosts,
            zone_id=zone_id,
            name=option("resource_record_name"),
            type=option("resource_record_type"),
            records=[option("resource_record_value")],
            ttl=300,
            allow_overwrite=True,
        )
        self.validation = AcmCertificateValidation(
            self,
            "validation",
            certificate_arn=self.certificate.arn,
            validation_record_fqdns=Token.as_list(f"${{[for record in {self._records_ref()} : record.fqdn]}}"),
        )

    def _records_ref(self) -> str:
        return f"aws_route53_record.{TerraformStack.of(self).get_logical_id(self.validation_records)}"

    @property
    def arn(self) -> str:
        """The issued certificate's ARN (known once validation has completed)."""
        return self.validation.certificate_arn
