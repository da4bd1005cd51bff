"""Times on the command line: ISO 8601 with an explicit offset, or `latest`; UTC stamps for names."""

from __future__ import annotations

from datetime import UTC, datetime

from ops.errors import InputError

LATEST = "latest"


def now() -> datetime:
    return datetime.now(UTC)


def parse_time(value: str, option: str) -> datetime:
    """An aware datetime from `2026-05-01T09:30:00+09:00` or `...Z`; a time without an offset is
    refused, because an on-call engineer in Tokyo and the AWS API disagree about what it means."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise InputError(f"{option}: '{value}' is not an ISO 8601 time (example: 2026-05-01T09:30:00+09:00)") from None
    if parsed.tzinfo is None:
        raise InputError(f"{option}: '{value}' has no time zone; add Z (UTC) or an offset such as +09:00")
    return parsed.astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stamp(moment: datetime) -> str:
    """Lower-case UTC stamp usable in RDS identifiers and S3 keys: 20260501t003000z."""
    return moment.astimezone(UTC).strftime("%Y%m%dt%H%M%Sz")
