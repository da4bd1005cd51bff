"""`python -m synth`: synthesize Terraform JSON (cdktf.out/) and Kubernetes YAML (dist/<env>/).

The environment files are validated before the jsii runtime is even loaded, so bad input fails
in milliseconds with one message per problem. The two layers synthesize side by side
(`synth.parallel`) into staging folders, and the output is replaced only when both succeeded.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack, suppress
from pathlib import Path

from envspec import DEFAULT_DIRECTORY, EnvironmentSpec, SpecError, load_environments
from envspec.targets import EmulatorTarget
from synth import parallel
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
    parser.add_argument(
        "--cdk8s-cli-outdir",
        metavar="DIR",
        help="run as the cdk8s CLI's app (cdk8s.yaml): DIR is the folder the CLI empties first and lists after; the manifests "
        "go to --kubernetes-outdir atomically and DIR gets links to them",
    )
    parser.add_argument("--aws-emulator", metavar="URL", help="point every provider at a local AWS emulator (moto); never for real deploys")
    parser.add_argument("--emulator-state-dir", type=Path, metavar="DIR", help="local state folder of an --aws-emulator synthesis")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    parser.add_argument("--debug", action="store_true", help="show the full traceback when synthesis fails")
    return parser.parse_args(argv)


def render_terraform(specs: dict[str, EnvironmentSpec], staging: Path, context: dict | None) -> list[str]:
    """Synthesize the stacks into `staging`; returns the stack ids."""
    with frozen_gc():
        from cdktf import App

        import stacks  # noqa: F401 - installs the lean provider package before any binding loads
        from stacks.app import build
    app = App(outdir=str(staging), context=context)
    built = build(app, specs.values())
    app.synth()
    return [stack.node.id for stack in built]


def commit_terraform(staged: StagedOutput, specs: dict[str, EnvironmentSpec], stack_ids: list[str], every_environment: bool) -> None:
    manifest = staged.staging / "manifest.json"
    if every_environment:
        merge_cdktf_manifest(Path("/nonexistent"), manifest, [])
        staged.commit()
        return
    stale = merge_cdktf_manifest(staged.target / "manifest.json", manifest, [f"{name}-" for name in specs])
    parts = [f"stacks/{stack_id}" for stack_id in stack_ids] + ["manifest.json"]
    staged.commit_parts(parts, stale=[f"stacks/{name}" for name in stale])


def kubernetes_folders(name: str, spec: EnvironmentSpec) -> list[str]:
    """The folders of `dist/` an environment's manifests fill: its own, and its standby's."""
    return [name, f"{name}-dr"] if spec.dr.has_standby else [name]


def render_kubernetes(specs: dict[str, EnvironmentSpec], staging: Path) -> None:
    with frozen_gc():
        from charts.app import build, standby_build
    for name, spec in specs.items():
        build(spec, staging / name).synth()
        standby = standby_build(spec, staging / f"{name}-dr")  # the standby cluster's folder, dist/<env>-dr
        if standby is not None:
            standby.synth()


def synthesize(args: argparse.Namespace, specs: dict[str, EnvironmentSpec], context: dict | None) -> None:
    """Both layers are staged beside their targets and committed only once both succeeded."""
    every_environment = not args.envs
    terraform, kubernetes = args.target in ("all", "terraform"), args.target in ("all", "kubernetes")
    with ExitStack() as scratch:
        terraform_staged = scratch.enter_context(StagedOutput(args.terraform_outdir)) if terraform else None
        kubernetes_staged = scratch.enter_context(StagedOutput(args.kubernetes_outdir)) if kubernetes else None
        wait_for_kubernetes = (
            parallel.start(lambda: render_kubernetes(specs, kubernetes_staged.staging), args.debug) if kubernetes else lambda: None
        )
        try:
            stack_ids = render_terraform(specs, terraform_staged.staging, context) if terraform else []
        except BaseException:
            # The Kubernetes side writes into a staging folder about to be removed: let it finish first.
            with suppress(Exception):
                wait_for_kubernetes()
            raise
        wait_for_kubernetes()
        if terraform_staged:
            commit_terraform(terraform_staged, specs, stack_ids, every_environment)
        if kubernetes_staged:
            if every_environment:
                kubernetes_staged.commit()
            else:
                kubernetes_staged.commit_parts([folder for name, spec in specs.items() for folder in kubernetes_folders(name, spec)])


def link_for_cdk8s_cli(kubernetes_outdir: Path, listing: Path, envs: Sequence[str]) -> None:
    """Give the cdk8s CLI, which lists the `.yaml` files of its own output folder, a link to every
    manifest this run wrote (the CLI empties that folder before it starts the app, so it must not
    be the real output)."""
    listing.mkdir(parents=True, exist_ok=True)
    for env in envs:
        folder = listing / env
        folder.mkdir(exist_ok=True)
        for manifest in sorted((kubernetes_outdir / env).glob("*.k8s.yaml")):
            link = folder / manifest.name
            link.unlink(missing_ok=True)
            link.symlink_to(os.path.relpath(manifest.resolve(), folder.resolve()))


def _unsafe_listing(listing: Path, args: argparse.Namespace) -> str | None:
    """Why `listing` must not be the cdk8s CLI's scratch folder (it is emptied on failure), or None."""
    folder = listing.resolve()
    here = Path.cwd().resolve()
    if folder == here or folder in here.parents:
        return "is the working folder or one of its parents"
    for output in (args.kubernetes_outdir.resolve(), args.terraform_outdir.resolve()):
        if folder == output or folder in output.parents or output in folder.parents:
            return f"overlaps the output folder {output}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.cdk8s_cli_outdir is not None:
        problem = "is empty" if not str(args.cdk8s_cli_outdir).strip() else _unsafe_listing(Path(args.cdk8s_cli_outdir), args)
        if problem:
            print(f"error: --cdk8s-cli-outdir {args.cdk8s_cli_outdir!r} {problem}; it must be a scratch folder of its own", file=sys.stderr)
            return EXIT_BAD_INPUT
        args.cdk8s_cli_outdir = Path(args.cdk8s_cli_outdir)
    code = run(args)
    if args.cdk8s_cli_outdir is None:
        return code
    if code == 0:
        link_for_cdk8s_cli(args.kubernetes_outdir, args.cdk8s_cli_outdir, sorted(args.envs or load_environments(args.environments_dir)))
        return 0
    # The cdk8s CLI prints a Node stack trace for an app that exits non-zero, but one line (and exits
    # 1) when the app leaves its output folder absent: the error above stays the one to read.
    shutil.rmtree(args.cdk8s_cli_outdir, ignore_errors=True)
    return 0


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        specs = load_environments(args.environments_dir, only=args.envs)
    except SpecError as error:
        print(f"error: invalid environment spec\n{error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if bool(args.aws_emulator) != bool(args.emulator_state_dir):
        print("error: --aws-emulator and --emulator-state-dir go together", file=sys.stderr)
        return EXIT_BAD_INPUT
    context = EmulatorTarget(args.aws_emulator, str(args.emulator_state_dir.resolve())).context() if args.aws_emulator else None
    configure_jsii_runtime()
    try:
        synthesize(args, specs, context)
    except Exception as error:
        if args.debug and not isinstance(error, parallel.ChildSynthesisError):
            raise
        reason = parallel.first_line(error)
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
