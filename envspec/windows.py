"""Maintenance and backup windows: written in the team's local time, handed to AWS in UTC.

The spec states windows in `WINDOW_TIME_ZONE` (the team and the users are in Japan), because a
window is chosen for when the users are asleep. RDS and ElastiCache read every window as UTC
(RDS API `PreferredBackupWindow`/`PreferredMaintenanceWindow`: "Must be in Universal Coordinated
Time (UTC)"), so the stacks convert with `daily_utc`/`weekly_utc`.

Overlaps are checked on the minutes of a week, in UTC, so a daily window that wraps midnight and a
weekly window that wraps Sunday are both handled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

WINDOW_TIME_ZONE = "Asia/Tokyo"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
# A Monday, 00:00: weekly windows are placed in this week to convert them. Asia/Tokyo keeps no
# daylight-saving time, so any week gives the same answer; the date only has to be a Monday.
REFERENCE_MONDAY = (2025, 1, 6)


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _clock(minutes: int) -> str:
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class WeekSpan:
    """A window as [start, start + length) minutes after Monday 00:00, in UTC."""

    start: int
    length: int

    def minutes(self) -> set[int]:
        return {(self.start + offset) % MINUTES_PER_WEEK for offset in range(self.length)}


def _to_utc(day: int, minute_of_day: int, time_zone: str) -> tuple[int, int]:
    """(weekday, minute of day) in `time_zone` to the same in UTC."""
    local = datetime(*REFERENCE_MONDAY, tzinfo=ZoneInfo(time_zone)) + timedelta(days=day, minutes=minute_of_day)
    utc = local.astimezone(ZoneInfo("UTC"))
    return utc.weekday(), utc.hour * 60 + utc.minute


def daily_length(window: str) -> int:
    """Minutes in an `HH:MM-HH:MM` window (one that ends before it starts wraps midnight)."""
    start, end = (_minutes(part) for part in window.split("-"))
    return (end - start) % MINUTES_PER_DAY


def weekly_length(window: str) -> int:
    start, end = (_weekly_minutes(part) for part in window.split("-"))
    return (end - start) % MINUTES_PER_WEEK


def _weekly_minutes(point: str) -> int:
    day, clock = point.split(":", 1)
    return DAYS.index(day) * MINUTES_PER_DAY + _minutes(clock)


def daily_utc(window: str, time_zone: str = WINDOW_TIME_ZONE) -> str:
    """`03:00-04:00` in Tokyo -> `18:00-19:00` (UTC)."""
    start, end = window.split("-")
    return "-".join(_clock(_to_utc(0, _minutes(part), time_zone)[1]) for part in (start, end))


def weekly_utc(window: str, time_zone: str = WINDOW_TIME_ZONE) -> str:
    """`mon:04:00-mon:05:00` in Tokyo -> `sun:19:00-sun:20:00` (UTC)."""
    points = []
    for point in window.split("-"):
        day, clock = point.split(":", 1)
        utc_day, utc_minute = _to_utc(DAYS.index(day), _minutes(clock), time_zone)
        points.append(f"{DAYS[utc_day]}:{_clock(utc_minute)}")
    return "-".join(points)


def daily_span(window: str, time_zone: str = WINDOW_TIME_ZONE) -> list[WeekSpan]:
    """A daily window as its seven occurrences in the week, in UTC."""
    start = _minutes(daily_utc(window, time_zone).split("-")[0])
    return [WeekSpan(day * MINUTES_PER_DAY + start, daily_length(window)) for day in range(7)]


def weekly_span(window: str, time_zone: str = WINDOW_TIME_ZONE) -> list[WeekSpan]:
    return [WeekSpan(_weekly_minutes(weekly_utc(window, time_zone).split("-")[0]), weekly_length(window))]


def overlap(first: list[WeekSpan], second: list[WeekSpan]) -> bool:
    minutes = set().union(*(span.minutes() for span in first))
    return any(span.minutes() & minutes for span in second)
