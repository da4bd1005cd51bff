"""Run one synthesis in a forked process while the parent runs the other.

Each layer's synthesis is a string of synchronous round trips between Python and its own jsii
kernel (Node), so one layer keeps about one core busy: on two or more cores the Kubernetes side
runs beside the Terraform side. The fork happens before any jsii kernel starts (a kernel's pipes
must not be shared), and the child leaves with `os._exit` once its files are written, skipping the
interpreter teardown (after stopping its jsii kernel).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from contextlib import suppress

from synth.errors import SynthesisError
from synth.runtime import stop_jsii_kernel


class ChildSynthesisError(SynthesisError):
    """The forked synthesis failed; the message is its first line of error."""


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def start(work: Callable[[], None], debug: bool) -> Callable[[], None]:
    """Start `work` now; the returned function waits for it and raises ChildSynthesisError if it failed.

    Where the platform cannot fork (or has a single core), `work` runs when the result is awaited.
    """
    if not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
        return work
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_end)
        code, message = 1, b"interrupted"
        try:
            work()
            code, message = 0, b""
        except Exception as error:  # noqa: BLE001 - reported to the parent through the pipe
            message = first_line(error).encode()
            if debug:
                traceback.print_exc()
        finally:
            # Whatever happened, the child never returns into the parent's code path, and it
            # leaves no jsii kernel of its own behind.
            sys.stdout.flush()
            sys.stderr.flush()
            with suppress(Exception):
                stop_jsii_kernel()
            os.write(write_end, message)
            os._exit(code)
    os.close(write_end)

    def wait() -> None:
        with os.fdopen(read_end, "rb") as pipe:
            message = pipe.read().decode(errors="replace")
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise ChildSynthesisError(message or f"the synthesis process ended with status {os.waitstatus_to_exitcode(status)}")

    return wait
