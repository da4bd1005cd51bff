"""ExternalDNS's AWS permissions: change records in exactly the environment's hosted zone.

The statements follow the ExternalDNS AWS tutorial (kubernetes-sigs/external-dns, docs/tutorials/aws.md):
`route53:ChangeResourceRecordSets` on the zone's ARN, and the list calls (which take no resource)
on `*`. Nothing here can touch another zone.
"""

from __future__ import annotations

from stacks.policy import Statement

LIST_ACTIONS = ("route53:ListHostedZones", "route53:ListResourceRecordSets", "route53:ListTagsForResources")


def external_dns_statements(zone_arn: str) -> list[Statement]:
    return [
        Statement(sid="ChangeRecordsOfTheEnvironmentZone", actions=["route53:ChangeResourceRecordSets"], resources=[zone_arn]),
        Statement(sid="ListZonesAndRecords", actions=list(LIST_ACTIONS), resources=["*"]),
    ]
