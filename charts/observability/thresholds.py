"""Every threshold of the application's alerts, defined once (kubernetes-mixin's `_config`).

A `Threshold` is data: the alert's expression compares with `value`, its summary and description
print `text`, and the dashboard draws `value` as the panel's red line. Changing a number here changes
all three; `tests/test_thresholds.py` proves that none of them carries a number of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["ratio", "seconds", "percent", "count"]


@dataclass(frozen=True)
class Threshold:
    value: float
    unit: Unit

    @property
    def promql(self) -> str:
        """The number as the expression compares it (`0.1`, `2`, `85`)."""
        return f"{self.value:g}"

    @property
    def text(self) -> str:
        """The number as people read it (`10%`, `2s`, `85%`, `5`)."""
        if self.unit == "ratio":
            return f"{self.value * 100:g}%"
        if self.unit == "seconds":
            return f"{self.value:g}s"
        if self.unit == "percent":
            return f"{self.value:g}%"
        return f"{self.value:g}"


# The original plan's seven alerts (their tested boundaries: tests/promtool_cases.py).
HIGH_ERROR_RATIO = Threshold(0.1, "ratio")  # HighErrorRate: backend 5xx share over 5 minutes
HIGH_RESPONSE_TIME = Threshold(2, "seconds")  # HighResponseTime: backend p95
DATABASE_CONNECTION_FAILURES = Threshold(5, "count")  # DatabaseConnectionFailure: failed connections in 5 minutes
AI_HIGH_LATENCY = Threshold(10, "seconds")  # AIServiceHighLatency: AI request p95
NODE_CPU = Threshold(85, "percent")  # HighCPUUsage
NODE_MEMORY = Threshold(90, "percent")  # HighMemoryUsage
