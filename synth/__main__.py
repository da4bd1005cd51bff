import os
import sys

from synth.cli import main

code = main()
sys.stdout.flush()
sys.stderr.flush()
# Skip interpreter teardown: every file is written by now, the jsii kernel exits when its stdin
# closes, and teardown costs seconds (and prints jsii's own traceback after a failed start).
os._exit(code)
