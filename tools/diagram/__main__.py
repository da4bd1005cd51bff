"""`python -m tools.diagram [--env production]`: write docs/architecture.{dot,svg,png} from the
synthesized output of one environment and docs/change-path.{dot,svg,png} from the workflows' job graph.

`--check` changes nothing and exits 1 when a committed picture differs from what the current output
gives (the DOT source always; the SVG and PNG when this machine's Graphviz is the version that drew
them). Exit codes (docs/conventions.md): 0 written or up to date, 1 out of date, 2 bad input
(no synthesized output, Graphviz missing)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from envspec.exit_codes import BAD_INPUT, FAILED, OK
from tools.diagram.architecture import architecture
from tools.diagram.change_path import change_path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
FORMATS = ("svg", "png")


def dot_binary() -> str | None:
    return shutil.which("dot")


def graphviz_version() -> str:
    binary = dot_binary()
    if binary is None:
        raise FileNotFoundError("Graphviz `dot` is not installed (Debian package graphviz)")
    return subprocess.run([binary, "-V"], capture_output=True, text=True, check=True).stderr.strip()


def render(source: str, fmt: str) -> bytes:
    binary = dot_binary()
    if binary is None:
        raise FileNotFoundError("Graphviz `dot` is not installed (Debian package graphviz)")
    return subprocess.run([binary, f"-T{fmt}"], input=source.encode(), capture_output=True, check=True).stdout


def sources(terraform_dir: Path, kubernetes_dir: Path, env: str) -> dict[str, str]:
    """Picture name -> its DOT source."""
    return {
        "architecture": architecture(terraform_dir, kubernetes_dir, env).source(),
        "change-path": change_path(ROOT / ".github" / "workflows", kubernetes_dir, env).source(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.diagram", description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="production", help="environment to draw (default: production)")
    parser.add_argument("--terraform-dir", type=Path, default=ROOT / "cdktf.out")
    parser.add_argument("--kubernetes-dir", type=Path, default=ROOT / "dist")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a picture is out of date")
    args = parser.parse_args(argv)
    try:
        graphs = sources(args.terraform_dir, args.kubernetes_dir, args.env)
        version = graphviz_version()
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return BAD_INPUT
    stale = []
    for name, source in graphs.items():
        files = {DOCS / f"{name}.dot": source.encode(), **{DOCS / f"{name}.{fmt}": render(source, fmt) for fmt in FORMATS}}
        for path, content in files.items():
            if args.check:
                if not path.is_file() or path.read_bytes() != content:
                    stale.append(path.relative_to(ROOT))
            elif not path.is_file() or path.read_bytes() != content:
                path.write_bytes(content)
                print(f"wrote {path.relative_to(ROOT)} ({version})")
    if stale:
        print(f"error: out of date ({version}): {', '.join(map(str, stale))}; run `make diagram`", file=sys.stderr)
        return FAILED
    return OK


if __name__ == "__main__":
    sys.exit(main())
