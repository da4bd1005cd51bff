"""ExternalDNS's AWS permissions: change records in exactly the environment's hosted zone.

The tutorial's policy (kubernetes-sigs/external-dns, docs/tutorials/aws.md) grants
`route53:ChangeResourceRecordSets` on the zones and the List calls on `*`; here the calls that take a
hosted-zone resource (changing and listing records, listing tags) name the environment's zone, and
only `ListHostedZones`, which takes no resource (Service Authorization Reference, Amazon Route 53),
stays on `*`. Nothing here can touch another zone.
"""

from __future__ import annotations

from stacks.policy import Statement

ZONE_ACTIONS = ("route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:ListTagsForResources")


def external_dns_statements(zone_arn: str) -> list[Statement]:
    return [
        Statement(sid="ManageRecordsOfTheEnvironmentZone", actions=list(ZONE_ACTIONS), resources=[zone_arn]),
        Statement(sid="FindTheZone", actions=["route53:ListHostedZones"], resources=["*"]),
    ]
