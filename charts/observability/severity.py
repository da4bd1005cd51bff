"""The alert severities, one type for the rules that set the `severity` label and the routing that matches on it.

- `critical`: act now. Where the environment pages, a critical alert whose rule names what is at risk
  (`impact`) pages the on-call engineer; every critical alert is posted to Slack.
- `warning`: a ticket: look at it in working hours. Posted to Slack, never paged, and held back while a
  critical alert of the same name fires in the same namespace.
"""

from __future__ import annotations

from enum import StrEnum

LABEL = "severity"


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
