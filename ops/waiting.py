"""Wait for something to happen, printing progress a tired engineer can read."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ops.console import duration, say
from ops.errors import OpsError


@dataclass(frozen=True)
class Poll:
    """How often to look and for how long; tests use a zero interval against emulators."""

    interval_seconds: float = 30.0
    timeout_seconds: float = 3600.0
    heartbeat_every: int = 4  # repeat an unchanged status every this many polls


def wait_for(what: str, check: Callable[[], tuple[bool, str]], poll: Poll) -> float:
    """Call `check` until it reports done; print each new status with the elapsed time.

    `check` returns (done, status text). Raises OpsError when the timeout passes; returns the
    seconds waited.
    """
    started = time.monotonic()
    last_status, unchanged = None, 0
    while True:
        done, status = check()
        elapsed = time.monotonic() - started
        if status != last_status or unchanged >= poll.heartbeat_every:
            say(f"    [{duration(elapsed):>6}] {what}: {status}")
            last_status, unchanged = status, 0
        else:
            unchanged += 1
        if done:
            return elapsed
        if elapsed >= poll.timeout_seconds:
            raise OpsError(f"gave up waiting for {what} after {duration(elapsed)} (last status: {status})")
        time.sleep(poll.interval_seconds)
