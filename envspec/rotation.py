"""When Secrets Manager rotates the database logins (alternating users, `stacks/data/rotation.py`).

The spec names a weekly window in Tokyo time, like the maintenance windows (`envspec/windows.py`):
rotation happens when the users are asleep. Secrets Manager reads a rotation schedule as a UTC
`cron()` whose minutes are 0 and whose year is `*`, and a window `Duration` in whole hours that
must not run into the next UTC day (Secrets Manager User Guide, "Schedule expressions in Secrets
Manager rotation"); `schedule_expression` and `duration` give exactly that.

`monthly` rotates on the first such weekday of the month as UTC counts it (cron `DAY#1`): a Tokyo
night window begins on the previous UTC day, so in a month that starts on the Tokyo weekday the
rotation comes a week later. Both logins keep working through a rotation, so the date only sets
how old a password gets.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from envspec import windows

ROTATION_WINDOW = r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):00-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):00$"
CRON_DAYS = {"mon": "MON", "tue": "TUE", "wed": "WED", "thu": "THU", "fri": "FRI", "sat": "SAT", "sun": "SUN"}


class LoginRotation(BaseModel):
    """Rotation of the application's and the migration's database logins by the rotation function."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    frequency: Literal["weekly", "monthly"] = Field(
        default="monthly", description="Rotate every week, or once a month (the first `window` weekday of the month, UTC)."
    )
    window: str = Field(
        default="tue:02:00-tue:05:00",
        pattern=ROTATION_WINDOW,
        description=f"Rotation window in {windows.WINDOW_TIME_ZONE} time, on the hour (Secrets Manager windows start on the "
        "hour and last whole hours); it must not cross midnight UTC (09:00 in Tokyo).",
    )
    rotate_immediately: bool = Field(
        default=False,
        description="Rotate when Terraform first configures rotation instead of at the next window. False: on a new "
        "environment the roles exist only after the first Argo CD sync runs the bootstrap Job.",
    )

    @field_validator("window")
    @classmethod
    def _fits_one_utc_day(cls, value: str) -> str:
        hours = windows.weekly_length(value) // 60
        if not 1 <= hours <= 23:
            raise ValueError(f"{value} is {hours} hours long; a rotation window lasts 1 to 23 hours")
        start_hour = int(windows.weekly_utc(value).split("-")[0].split(":")[1])
        if start_hour + hours > 24:
            raise ValueError(
                f"{value} ({windows.weekly_utc(value)} UTC) runs past midnight UTC; Secrets Manager refuses a rotation "
                "window that extends into the next UTC day"
            )
        return value

    @property
    def window_utc(self) -> str:
        return windows.weekly_utc(self.window)

    @property
    def schedule_expression(self) -> str:
        """`cron(0 17 ? * MON *)`: the window's start, in UTC."""
        day, hour = self.window_utc.split("-")[0].split(":")[:2]
        weekday = CRON_DAYS[day] + ("#1" if self.frequency == "monthly" else "")
        return f"cron(0 {int(hour)} ? * {weekday} *)"

    @property
    def duration(self) -> str:
        return f"{windows.weekly_length(self.window) // 60}h"
