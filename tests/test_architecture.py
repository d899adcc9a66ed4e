"""House rules that code review would otherwise have to remember."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _calls(path: Path, attr: str) -> list[int]:
    tree = ast.parse(path.read_text())
    return [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == attr
    ]


def test_core_imports_no_grpc_or_protobuf():
    for path in (ROOT / "torc_core").glob("*.py"):
        bad = {m for m in _imports(path) if m.split(".")[0] in ("grpc", "google", "torc_grpc")}
        assert not bad, f"{path.name} imports {bad}"


def test_no_stdlib_sqlite3_anywhere():
    # Two SQLite copies in one process break file locking (design.md section 2).
    for pkg in ("torc_core", "torc_grpc"):
        for path in (ROOT / pkg).rglob("*.py"):
            assert "sqlite3" not in _imports(path), path


def test_sql_only_in_the_store_layer():
    for pkg in ("torc_core", "torc_grpc"):
        for path in (ROOT / pkg).rglob("*.py"):
            if "_pb" in path.parts or "store" in path.parts or path.name == "db.py":
                continue
            for attr in ("execute", "executemany"):
                assert not _calls(path, attr), f"{path}: {attr}() outside the store"


def test_no_module_too_large():
    for pkg in ("torc_core", "torc_grpc"):
        for path in list((ROOT / pkg).rglob("*.py")) + list((ROOT / pkg).rglob("*.pyx")):
            if "_pb" in path.parts:
                continue
            assert len(path.read_text().splitlines()) <= 650, f"{path} is a god module"


def test_build_outputs_are_ignored():
    ignored = (ROOT / ".gitignore").read_text().split()
    for pattern in ("build/", "*.so", "torc_core/*.c"):
        assert pattern in ignored


def test_tests_use_the_compiled_kernels():
    import os

    from torc_core import kernels

    expected = "reference" if os.environ.get("TORC_NO_EXTENSIONS") == "1" else "compiled"
    assert kernels.IMPLEMENTATION == expected
