"""`python -m synth` returns only when its work is done, with no process of its own left running.

The synthesizer leaves with `os._exit` (interpreter teardown costs seconds), which skips the jsii
runtime's `atexit` hook that stops its Node kernel (jsii/_kernel/providers/process.py,
`_NodeProcess.stop`); each jsii kernel (one per layer, the Kubernetes side in a forked process)
would then run on unattached, and a benchmark or a loop of syntheses would not see its work. The
session's synthesis runs under `tools.process_tree` (a child subreaper, so orphans are re-parented
to it and seen), which records what was still running when the command returned.
"""

from __future__ import annotations

from tests.conftest import Synthesis


def test_synthesis_leaves_no_process_running(synthesis: Synthesis) -> None:
    assert synthesis.processes_left_running() == []
