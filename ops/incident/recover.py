"""`ops incident recover`: restart one component's Deployment and wait until it is ready.

`kubectl rollout restart` semantics (a new `kubectl.kubernetes.io/restartedAt` pod-template
annotation; the Deployment's own rolling-update strategy and PodDisruptionBudget apply), then
`kubectl rollout status` semantics until every replica is updated and available.

A critical incident is never restarted automatically: with `--severity critical` the restart needs a
person at a terminal who types the Deployment's name. Scripts, CI jobs and alert hooks have no
terminal, so they cannot do it, whatever flags they pass.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from envspec.naming import APP_NAMESPACE
from envspec.topology import Component
from ops.console import say, step
from ops.errors import InputError
from ops.kube import Kube, restart_and_wait, rollout_status
from ops.timeutil import now
from ops.waiting import Poll


def confirm_critical(component: Component, ask: Callable[[str], str] = input) -> None:
    if not sys.stdin.isatty():
        raise InputError(
            "critical incidents are never restarted automatically; run `ops incident recover` from a terminal "
            "and confirm; nothing was changed"
        )
    answer = ask(f"Critical incident: type the Deployment name ({component.name}) to restart it: ")
    if answer.strip() != component.name:
        raise InputError("confirmation did not match; nothing was changed")


def recover(kube: Kube, component: Component, severity: str, execute: bool, poll: Poll) -> bool:
    """Returns True when the Deployment was restarted and is ready (False in a dry run)."""
    current = kube.deployment(component.name)
    ready, status = rollout_status(current)
    say(f"deployment/{component.name} in {APP_NAMESPACE}: {status}" + ("" if ready else " (rollout in progress)"))
    if not execute:
        say(f"dry run: would restart deployment/{component.name} (kubectl rollout restart) and wait until it is ready")
        say("nothing was changed; add --execute to restart")
        return False
    if severity == "critical":
        confirm_critical(component)
    waited = restart_and_wait(kube, component, poll, now())
    step(f"deployment/{component.name} is ready again ({waited:.0f}s)")
    return True
