import os
import sys

from synth.cli import main
from synth.runtime import stop_jsii_kernel

code = main()
sys.stdout.flush()
sys.stderr.flush()
# Stop the jsii kernel (Node) and wait for it, so the command returns with no process of its own left
# running; then skip interpreter teardown: every file is written by now, and teardown costs seconds
# (and prints jsii's own traceback after a failed start).
stop_jsii_kernel()
os._exit(code)
