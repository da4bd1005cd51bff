"""`python -m ops` in a subprocess on a pseudo-terminal, a person typing at its prompt; AWS through moto's
server on loopback (the in-process `mock_aws` does not reach a subprocess)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from collections.abc import Sequence

from tests.conftest import ROOT
from tests.operations.conftest import Result


def run_at_terminal(args: Sequence[str], *, typed: str) -> Result:
    """Run `python -m ops <args>`, type `typed` and Enter, and wait for it to finish."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        controller, terminal = pty.openpty()
        env = {**os.environ, "AWS_ENDPOINT_URL": f"http://{host}:{port}", "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(
            [sys.executable, "-m", "ops", *args], cwd=ROOT, stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        os.write(controller, f"{typed}\n".encode())
        out, err = process.communicate(timeout=120)
        os.close(controller)
        os.close(terminal)
    finally:
        server.stop()
    return Result(process.returncode, out.decode(), err.decode())
