"""`login_rotation` in the spec: Tokyo time in, a Secrets Manager schedule out, bad windows refused
on their own line.

Secrets Manager User Guide, "Schedule expressions in Secrets Manager rotation": UTC; a `cron()`
with minutes 0 and year `*`; windows start on the hour, last whole hours (`Duration`), and must
not extend into the next UTC day.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from envspec import SpecError, load_environments
from envspec.rotation import LoginRotation
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("frequency", "window", "expression", "duration"),
    [
        ("weekly", "tue:02:00-tue:05:00", "cron(0 17 ? * MON *)", "3h"),
        ("monthly", "tue:02:00-tue:05:00", "cron(0 17 ? * MON#1 *)", "3h"),
        ("weekly", "sun:22:00-mon:01:00", "cron(0 13 ? * SUN *)", "3h"),
        ("weekly", "mon:09:00-mon:10:00", "cron(0 0 ? * MON *)", "1h"),
    ],
)
def test_tokyo_windows_become_utc_schedules(frequency: str, window: str, expression: str, duration: str) -> None:
    rotation = LoginRotation(frequency=frequency, window=window)
    assert (rotation.schedule_expression, rotation.duration) == (expression, duration)


@pytest.mark.parametrize(
    ("window", "reason"),
    [
        ("tue:07:00-tue:10:00", "runs past midnight UTC"),  # 22:00-01:00 UTC
        ("tue:02:30-tue:05:30", "String should match pattern"),  # not on the hour
        ("tue:02:00-tue:02:00", "a rotation window lasts 1 to 23 hours"),
    ],
)
def test_windows_secrets_manager_refuses_are_refused_on_their_line(window: str, reason: str, tmp_path: Path) -> None:
    environments = tmp_path / "environments"
    shutil.copytree(ROOT / "environments", environments)
    staging = environments / "staging.yaml"
    staging.write_text(staging.read_text().replace("ci:", f"login_rotation:\n  window: {window}\nci:", 1))
    with pytest.raises(SpecError) as error:
        load_environments(environments)
    (problem,) = error.value.problems
    assert problem.field == "login_rotation.window" and reason in problem.reason, problem
    assert problem.line == next(number for number, text in enumerate(staging.read_text().splitlines(), 1) if window in text)
