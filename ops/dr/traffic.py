"""Route 53 during a region failover: the environment's failover records and how Route 53 answers.

The failover DNS stack (`<env>-dr-dns`) gives each host two records: PRIMARY (the primary region's load balancer, with a
health check on the primary's `/api/health`) and SECONDARY (the standby's load balancer). The
failover does not rewrite those records (Terraform owns them); it pins the primary's health check
unhealthy with `Disabled` + `Inverted` (a disabled check counts as healthy, an inverted one as the
opposite: Route 53 API reference, HealthCheckConfig). Pinning matters even when the region is already
gone: when it comes back, its health check would otherwise pass again and Route 53 would send users
to the old, now stale, primary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ops.context import Target
from ops.errors import InputError

# "If more than 18% of health checkers report that an endpoint is healthy, Route 53 considers it
# healthy" (Route 53 DG, "How Amazon Route 53 determines whether a health check is healthy").
HEALTHY_SHARE = 0.18


@dataclass(frozen=True)
class FailoverRecord:
    host: str
    primary: dict[str, Any]
    secondary: dict[str, Any]

    @property
    def health_check_id(self) -> str:
        return str(self.primary["HealthCheckId"])


def _target_of(record: dict[str, Any]) -> str:
    alias = record.get("AliasTarget")
    if alias:
        return str(alias["DNSName"]).rstrip(".")
    return ", ".join(item["Value"] for item in record.get("ResourceRecords", []))


def describe_target(record: dict[str, Any]) -> str:
    return f"{record['Failover']} {_target_of(record)}"


def find_records(target: Target) -> list[FailoverRecord]:
    """The PRIMARY/SECONDARY pair of every host of the environment; refuses if one is missing."""
    route53 = target.aws.client("route53", "us-east-1")
    zone_name = target.spec.dns.zone_name.rstrip(".") + "."
    zones = [zone for zone in route53.list_hosted_zones_by_name(DNSName=zone_name)["HostedZones"] if zone["Name"] == zone_name]
    public = [zone for zone in zones if not zone.get("Config", {}).get("PrivateZone")]
    if not public:
        raise InputError(f"no public hosted zone {zone_name} in this account; the {target.env}-edge stack creates it; nothing was changed")
    zone_id = public[0]["Id"]
    records: list[FailoverRecord] = []
    for host in sorted({target.spec.dns.frontend_host, target.spec.dns.api_host}):
        name = host.rstrip(".") + "."
        listed = route53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=name, StartRecordType="A")["ResourceRecordSets"]
        pair = {item.get("Failover"): item for item in listed if item["Name"] == name and item["Type"] == "A" and item.get("Failover")}
        if "PRIMARY" not in pair or "SECONDARY" not in pair:
            raise InputError(
                f"{host} has no PRIMARY/SECONDARY failover records in {zone_name}; the {target.env}-dr-dns stack creates them; "
                "nothing was changed"
            )
        if not pair["PRIMARY"].get("HealthCheckId"):
            raise InputError(f"the PRIMARY record of {host} has no health check; nothing was changed")
        records.append(FailoverRecord(host, pair["PRIMARY"], pair["SECONDARY"]))
    return records


def observed_healthy(route53: Any, health_check_id: str) -> bool:
    """What Route 53's checkers last saw, before `Disabled`/`Inverted` are applied."""
    observations = route53.get_health_check_status(HealthCheckId=health_check_id)["HealthCheckObservations"]
    if not observations:
        return False
    passing = sum(1 for item in observations if item["StatusReport"]["Status"].startswith("Success"))
    return passing / len(observations) > HEALTHY_SHARE


def considered_healthy(config: dict[str, Any], observed: bool) -> bool:
    """The status Route 53 routes by: a disabled check is healthy; an inverted one is the opposite."""
    status = True if config.get("Disabled") else observed
    return not status if config.get("Inverted") else status


def pinned(config: dict[str, Any]) -> bool:
    return bool(config.get("Disabled")) and bool(config.get("Inverted"))


def answer(primary_healthy: bool, secondary_healthy: bool) -> str:
    """Which record Route 53 answers with, by the rules of the ResourceRecordSet `Failover` element
    (Route 53 API reference): the primary while it is healthy; the secondary when the primary is
    unhealthy and the secondary healthy; and the primary again when the secondary is unhealthy,
    "regardless of the health of the primary"."""
    if primary_healthy or not secondary_healthy:
        return "PRIMARY"
    return "SECONDARY"


def pin_unhealthy(target: Target, health_check_id: str) -> bool:
    """Pin a health check unhealthy; returns False when it already was (a resumed run)."""
    route53 = target.aws.client("route53", "us-east-1")
    check = route53.get_health_check(HealthCheckId=health_check_id)["HealthCheck"]
    if pinned(check["HealthCheckConfig"]):
        return False
    # HealthCheckVersion: Route 53 refuses the update if someone changed the check since we read it.
    route53.update_health_check(HealthCheckId=health_check_id, HealthCheckVersion=check["HealthCheckVersion"], Disabled=True, Inverted=True)
    return True


def routed(target: Target, record: FailoverRecord, secondary_ready: bool) -> str:
    """The record Route 53 now answers `record.host` with.

    The SECONDARY's own health: its health check if it has one; an alias evaluating target health is
    healthy when its load balancer has healthy targets, which are the standby pods `secondary_ready`
    reports.
    """
    route53 = target.aws.client("route53", "us-east-1")
    config = route53.get_health_check(HealthCheckId=record.health_check_id)["HealthCheck"]["HealthCheckConfig"]
    primary = considered_healthy(config, observed_healthy(route53, record.health_check_id))
    secondary_check = record.secondary.get("HealthCheckId")
    if secondary_check:
        secondary_config = route53.get_health_check(HealthCheckId=secondary_check)["HealthCheck"]["HealthCheckConfig"]
        secondary = considered_healthy(secondary_config, observed_healthy(route53, secondary_check))
    else:
        secondary = secondary_ready or not (record.secondary.get("AliasTarget") or {}).get("EvaluateTargetHealth")
    return answer(primary, secondary)
