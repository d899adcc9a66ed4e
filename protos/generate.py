"""Generate torc_grpc/_pb from protos/torc/v1/*.proto.

Usage: python protos/generate.py [OUT_DIR]   (default: torc_grpc/_pb)

protoc writes `from torc.v1 import x_pb2`, which only resolves when the
output folder is on sys.path. The generated modules live inside the
torc_grpc package, so the import lines are rewritten to
`from torc_grpc._pb.torc.v1 import x_pb2`. That rewrite is part of the
generation, never a hand edit: tests/test_protos_fresh.py runs this script
into a temporary folder and fails when the committed files differ.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PACKAGE = "torc_grpc._pb"
_IMPORT = re.compile(r"^from torc\.v1 import ", re.MULTILINE)


def generate(out_dir: Path) -> list[Path]:
    """Run protoc on every proto file and fix the imports; return the files."""
    import grpc_tools
    from grpc_tools import protoc

    protos = sorted(HERE.glob("torc/v1/*.proto"))
    include = str(Path(grpc_tools.__file__).parent / "_proto")
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{HERE}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *[str(p) for p in protos],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    written = []
    for pkg in (out_dir / "torc", out_dir / "torc" / "v1"):
        init = pkg / "__init__.py"
        init.write_text("")
        written.append(init)
    for path in sorted((out_dir / "torc" / "v1").glob("*.py*")):
        if path.name == "__init__.py":
            continue
        text = path.read_text()
        path.write_text(_IMPORT.sub(f"from {PACKAGE}.torc.v1 import ", text))
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "torc_grpc" / "_pb"
    for p in generate(target):
        print(p.relative_to(target))
