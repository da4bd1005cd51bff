"""One `Severity` type for the rules and the routing: every alert the project defines carries one of
its values, and the routing tree matches exactly those values, so no severity can be set that no
route delivers."""

from __future__ import annotations

from charts.karpenter_monitoring import karpenter_alerts
from charts.observability.routing import routing_for
from charts.observability.rules import alerts
from charts.observability.severity import LABEL, Severity
from charts.observability.slo import slo_alerts
from envspec import names_for
from tests.conftest import SPECS


def test_every_alert_has_a_severity_of_the_type() -> None:
    spec = SPECS["production"]
    every = [*alerts(), *slo_alerts(spec.slos), *karpenter_alerts(spec)]
    assert {type(alert.severity) for alert in every} == {Severity}
    assert {alert.render(names_for(spec))["labels"][LABEL] for alert in every} == {"critical", "warning"}


def test_the_routing_matches_the_severities_of_the_type() -> None:
    routing = routing_for(names_for(SPECS["production"]))
    (root,) = routing.route.matchers
    assert (root.name, root.match_type, set(root.value.split("|"))) == (LABEL, "=~", {str(s) for s in Severity})
    routed = {m.value for route in routing.route.routes for m in route.matchers if m.name == LABEL}
    assert routed == {str(s) for s in Severity}, "every severity has its own route (repeat interval)"
