"""`make bench`: synthesis wall time and peak memory for 1, 3 and 10 environments, against the naive floor.

`make bench-tests` (`--suite`) times `make test` instead: wall time and CPU seconds of every process.

The naive floor is measured in the same run: a script that imports the AWS provider bindings the
usual way (`from cdktf_cdktf_provider_aws.vpc import Vpc`, which runs the package root's ~1,900
eager submodule imports) and synthesizes one VPC. Each case runs once to warm caches, then
`--runs` times; the table shows the median. Every case is measured with every process it starts
(`tools.process_tree`): wall time until the last of them has ended, CPU seconds of all of them
(the jsii Node kernels included), and peak memory as the largest sum of resident memory of the
tree, sampled every 10 ms.

Targets: all environments in at most half the naive floor; each extra environment at most 0.3 s;
peak memory at most 1 GiB; a no-op `make install` at most 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import yaml

from tools.process_tree import run_tree

ROOT = Path(__file__).resolve().parent.parent
NAIVE_SCRIPT = textwrap.dedent(
    """
    import sys
    from cdktf import App, TerraformStack
    from cdktf_cdktf_provider_aws.provider import AwsProvider
    from cdktf_cdktf_provider_aws.vpc import Vpc

    app = App(outdir=sys.argv[1])
    stack = TerraformStack(app, "naive")
    AwsProvider(stack, "aws", region="ap-northeast-1")
    Vpc(stack, "vpc", cidr_block="10.0.0.0/16")
    app.synth()
    """
)


@dataclass(frozen=True)
class Measurement:
    seconds: float
    cpu_seconds: float
    peak_bytes: int


def measure(command: list[str], env: dict[str, str] | None = None) -> Measurement:
    """Wall time until the command and every process it started have ended, and their CPU time."""
    run = run_tree(command, cwd=ROOT, env=env, capture=True)
    if run.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(command)}\n{run.stderr}")
    return Measurement(run.seconds, run.cpu_seconds, run.peak_bytes)


def median(command: list[str], runs: int, env: dict[str, str] | None = None) -> Measurement:
    measure(command, env)  # warm-up: jsii package cache, page cache
    samples = [measure(command, env) for _ in range(runs)]
    return Measurement(
        statistics.median(s.seconds for s in samples), statistics.median(s.cpu_seconds for s in samples), max(s.peak_bytes for s in samples)
    )


def environments_folder(scratch: Path, count: int) -> Path:
    """`count` environments: the real ones first, then copies of development with their own CIDRs."""
    folder = scratch / f"environments-{count}"
    folder.mkdir()
    real = sorted((ROOT / "environments").glob("*.yaml"))
    for path in real[:count]:
        shutil.copy(path, folder / path.name)
    template = yaml.safe_load((ROOT / "environments" / "development.yaml").read_text())
    for index in range(count - len(real)):
        name = f"bench{index:02d}"
        document = {**template, "name": name, "network": {**template["network"], "vpc_cidr": f"10.{100 + index}.0.0/16"}}
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(document))
    return folder


def bench_suite(runs: int) -> int:
    """`make test`, `runs` times: wall time, CPU seconds of every process, and the load it ran under."""
    samples = []
    for index in range(runs):
        load = os.getloadavg()[0]
        run = run_tree(["make", "--no-print-directory", "test"], cwd=ROOT)
        samples.append(run)
        outcome = "passed" if run.returncode == 0 else f"failed ({run.returncode})"
        print(f"run {index + 1}: {run.seconds:.1f} s wall, {run.cpu_seconds:.1f} CPU-s, load {load:.1f} at start, {outcome}")
    wall, cpu = statistics.median(r.seconds for r in samples), statistics.median(r.cpu_seconds for r in samples)
    print(f"median: {wall:.1f} s wall, {cpu:.1f} CPU-s")
    return 0 if all(r.returncode == 0 for r in samples) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--suite", action="store_true", help="time `make test` instead (wall and CPU, every process)")
    parser.add_argument("--skip-install", action="store_true", help="leave out the no-op `make install` case")
    args = parser.parse_args(argv)
    if args.suite:
        return bench_suite(args.runs)
    python = sys.executable
    env = dict(os.environ)
    from synth.runtime import configure_jsii_runtime

    configure_jsii_runtime()  # the naive floor gets the same Node and package cache
    env.update({key: os.environ[key] for key in ("JSII_NODE", "JSII_RUNTIME_PACKAGE_CACHE_ROOT", "NODE_OPTIONS") if key in os.environ})

    print(f"{'case':<58} {'wall (s)':>9} {'CPU (s)':>8} {'peak memory (MiB)':>18}", flush=True)

    def row(label: str, measurement: Measurement) -> Measurement:
        print(
            f"{label:<58} {measurement.seconds:>9.2f} {measurement.cpu_seconds:>8.2f} {measurement.peak_bytes / 2**20:>18.0f}", flush=True
        )
        return measurement

    with tempfile.TemporaryDirectory(prefix="bench-") as scratch_name:
        scratch = Path(scratch_name)
        (scratch / "naive.py").write_text(NAIVE_SCRIPT)
        naive = [python, str(scratch / "naive.py"), str(scratch / "naive-out")]
        floor = row("naive floor (1 VPC, eager provider import)", median(naive, args.runs, env))
        synth = {}
        for count in (1, 3, 10):
            folder = environments_folder(scratch, count)
            command = [python, "-O", "-m", "synth", "--quiet", "--environments-dir", str(folder)]
            command += ["--terraform-outdir", str(scratch / f"tf-{count}"), "--kubernetes-outdir", str(scratch / f"k8s-{count}")]
            synth[count] = row(f"make synth, {count} environment(s) (Terraform + Kubernetes)", median(command, args.runs, env))
        noop_install = (
            None
            if args.skip_install
            else row("make install with nothing changed", median(["make", "--no-print-directory", "install"], args.runs, env))
        )

    per_environment = (synth[10].seconds - synth[3].seconds) / 7
    checks = [
        (f"all environments <= half the naive floor ({floor.seconds / 2:.2f} s)", synth[3].seconds <= floor.seconds / 2),
        (f"each extra environment <= 0.3 s (measured {per_environment:.3f} s)", per_environment <= 0.3),
        ("peak memory <= 1 GiB", max(m.peak_bytes for m in synth.values()) <= 2**30),
    ]
    if noop_install is not None:
        checks.append(("no-op install <= 0.5 s", noop_install.seconds <= 0.5))
    print()
    for label, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
