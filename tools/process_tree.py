"""Run a command and account for every process it starts: wall time until the last of them ends,
CPU seconds of all of them, peak resident memory of the tree, and what was still running when the
command itself returned.

A process that exits without waiting for its children leaves them to init, where no timing of the
command sees them. Here the runner is the Linux "child subreaper" (prctl PR_SET_CHILD_SUBREAPER,
man 2 prctl): orphaned descendants are re-parented to it, so it can list them, wait for them and
include their CPU time (getrusage RUSAGE_CHILDREN counts every descendant that was waited for).

Usage: python -m tools.process_tree [--report FILE] -- COMMAND...
  runs COMMAND with inherited stdin/stdout/stderr, writes the processes left running when it
  returned (pid and command line, JSON) to FILE, then waits for them and exits with COMMAND's code.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
ORPHAN_GRACE_SECONDS = 30  # then what is still running is killed


@dataclass
class TreeRun:
    returncode: int
    seconds: float  # until the command and every process it started had ended
    cpu_seconds: float  # user + system of the command and all its descendants
    peak_bytes: int  # largest sum of resident memory across the tree, sampled every 10 ms
    leftover: list[dict[str, object]] = field(default_factory=list)  # still running when the command returned
    stderr: str = ""


def become_subreaper() -> None:
    if not sys.platform.startswith("linux"):
        raise OSError("the process-tree accounting needs Linux (PR_SET_CHILD_SUBREAPER)")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _running_descendants() -> list[psutil.Process]:
    found = []
    for process in psutil.Process().children(recursive=True):
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except psutil.NoSuchProcess:
            pass
    return found


def _describe(process: psutil.Process) -> dict[str, object]:
    try:
        return {"pid": process.pid, "cmdline": process.cmdline()}
    except psutil.Error:
        return {"pid": process.pid, "cmdline": []}


def run_tree(command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None, capture: bool = False) -> TreeRun:
    """Run `command` and every process it starts to completion, as described in the module docstring.

    The calling process becomes a child subreaper for the rest of its life; it must have no other
    children running meanwhile.
    """
    become_subreaper()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    output = subprocess.DEVNULL if capture else None
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.PIPE if capture else None)
    peak = 0
    while process.poll() is None:
        try:
            tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True), *_running_descendants()]
            peak = max(peak, sum(p.memory_info().rss for p in {p.pid: p for p in tree}.values()))
        except psutil.Error:
            pass
        time.sleep(0.01)
    stderr = process.stderr.read().decode(errors="replace") if capture and process.stderr else ""
    leftover = [_describe(p) for p in _running_descendants()]
    deadline = time.monotonic() + ORPHAN_GRACE_SECONDS
    while True:  # reap every orphan re-parented to us, which adds its CPU time to RUSAGE_CHILDREN
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            if time.monotonic() > deadline:
                for orphan in _running_descendants():
                    orphan.kill()
            time.sleep(0.01)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return TreeRun(process.returncode, seconds, cpu, peak, leftover, stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.process_tree", description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, help="write the processes left running when COMMAND returned here (JSON)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    result = run_tree(command)
    if args.report:
        args.report.write_text(json.dumps({"leftover": result.leftover, "seconds": result.seconds, "cpu_seconds": result.cpu_seconds}))
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
