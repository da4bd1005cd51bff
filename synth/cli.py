"""`python -m synth`: synthesize Terraform JSON (cdktf.out/) and Kubernetes YAML (dist/<env>/).

The environment files are validated before the jsii runtime is even loaded, so bad input fails
in milliseconds with one message per problem. Output is written atomically.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from envspec import DEFAULT_DIRECTORY, EnvironmentSpec, SpecError, load_environments
from envspec.targets import EmulatorTarget
from synth.output import StagedOutput, merge_cdktf_manifest
from synth.runtime import configure_jsii_runtime, frozen_gc
from synth.summary import print_summary

EXIT_BAD_INPUT = 2
EXIT_SYNTH_FAILED = 1


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m synth", description=__doc__.splitlines()[0])
    parser.add_argument("--env", action="append", dest="envs", metavar="NAME", help="environment to synthesize (repeatable; default: all)")
    parser.add_argument("--target", choices=("all", "terraform", "kubernetes"), default="all", help="which layer to synthesize")
    parser.add_argument("--environments-dir", type=Path, default=DEFAULT_DIRECTORY, help="folder of <env>.yaml files")
    parser.add_argument(
        "--terraform-outdir",
        type=Path,
        default=Path(os.environ.get("CDKTF_OUTDIR", "cdktf.out")),
        help="default: $CDKTF_OUTDIR or cdktf.out",
    )
    parser.add_argument(
        "--kubernetes-outdir", type=Path, default=Path(os.environ.get("CDK8S_OUTDIR", "dist")), help="default: $CDK8S_OUTDIR or dist"
    )
    parser.add_argument("--aws-emulator", metavar="URL", help="point every provider at a local AWS emulator (moto); never for real deploys")
    parser.add_argument("--emulator-state-dir", type=Path, metavar="DIR", help="local state folder of an --aws-emulator synthesis")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    parser.add_argument("--debug", action="store_true", help="show the full traceback when synthesis fails")
    return parser.parse_args(argv)


def synthesize_terraform(specs: dict[str, EnvironmentSpec], outdir: Path, every_environment: bool, context: dict | None = None) -> None:
    with frozen_gc():
        from cdktf import App

        import stacks  # noqa: F401 - installs the lean provider package before any binding loads
        from stacks.app import build
    outdir.parent.mkdir(parents=True, exist_ok=True)
    with StagedOutput(outdir) as staged:
        app = App(outdir=str(staged.staging), context=context)
        built = build(app, specs.values())
        app.synth()
        manifest = staged.staging / "manifest.json"
        if every_environment:
            merge_cdktf_manifest(Path("/nonexistent"), manifest, [])
            staged.commit()
            return
        stale = merge_cdktf_manifest(staged.target / "manifest.json", manifest, [f"{name}-" for name in specs])
        parts = [f"stacks/{stack.node.id}" for stack in built] + ["manifest.json"]
        staged.commit_parts(parts, stale=[f"stacks/{name}" for name in stale])


def synthesize_kubernetes(specs: dict[str, EnvironmentSpec], outdir: Path, every_environment: bool) -> None:
    with frozen_gc():
        from charts.app import build
    outdir.parent.mkdir(parents=True, exist_ok=True)
    with StagedOutput(outdir) as staged:
        for name, spec in specs.items():
            build(spec, staged.staging / name).synth()
        if every_environment:
            staged.commit()
        else:
            staged.commit_parts(list(specs))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        specs = load_environments(args.environments_dir, only=args.envs)
    except SpecError as error:
        print(f"error: invalid environment spec\n{error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    every_environment = not args.envs
    if bool(args.aws_emulator) != bool(args.emulator_state_dir):
        print("error: --aws-emulator and --emulator-state-dir go together", file=sys.stderr)
        return EXIT_BAD_INPUT
    context = EmulatorTarget(args.aws_emulator, str(args.emulator_state_dir.resolve())).context() if args.aws_emulator else None
    configure_jsii_runtime()
    try:
        if args.target in ("all", "terraform"):
            synthesize_terraform(specs, args.terraform_outdir, every_environment, context)
        if args.target in ("all", "kubernetes"):
            synthesize_kubernetes(specs, args.kubernetes_outdir, every_environment)
    except Exception as error:
        if args.debug:
            raise
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"error: synthesis failed, previous output left unchanged: {reason}\n(rerun with --debug for details)", file=sys.stderr)
        return EXIT_SYNTH_FAILED
    if not args.quiet:
        print_summary(
            specs,
            args.terraform_outdir if args.target != "kubernetes" else None,
            args.kubernetes_outdir if args.target != "terraform" else None,
            time.perf_counter() - started,
        )
    sys.stdout.flush()
    sys.stderr.flush()
    return 0
