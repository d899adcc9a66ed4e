"""House rules that code review would otherwise have to remember. Every rule
walks its packages recursively (store/, engine/, servicers/, worker/ ...)."""

from __future__ import annotations

import ast
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _sources(pkg: str, *suffixes: str) -> list[Path]:
    paths: list[Path] = []
    for suffix in suffixes or (".py",):
        paths += [p for p in (ROOT / pkg).rglob(f"*{suffix}") if "_pb" not in p.parts]
    assert paths, f"no sources under {pkg}"
    return paths


def _imports(path: Path) -> set[str]:
    """Absolute module names a file imports (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    package = list(path.relative_to(ROOT).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package[:-1]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.add(module)
            names |= {f"{module}.{a.name}" for a in node.names}
    return names


def _calls(path: Path, attr: str) -> list[int]:
    tree = ast.parse(path.read_text())
    return [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == attr
    ]


def _top(module: str) -> str:
    return module.split(".")[0]


def test_the_walk_sees_every_package():
    seen = {p.parent.name for p in _sources("torc_core") + _sources("torc_grpc")}
    assert {"store", "engine", "servicers", "worker"} <= seen


def test_core_imports_no_grpc_or_protobuf():
    for path in _sources("torc_core"):
        bad = {m for m in _imports(path) if _top(m) in ("grpc", "google", "torc_grpc")}
        assert not bad, f"{path} imports {bad}"


def test_only_the_store_talks_to_apsw():
    for pkg in ("torc_core", "torc_grpc"):
        for path in _sources(pkg):
            if "store" in path.relative_to(ROOT).parts:
                continue
            assert "apsw" not in {_top(m) for m in _imports(path)}, f"{path} imports apsw"


def test_servicers_only_translate():
    """Servicers convert, call the engine, convert back: no store, apsw or kernels."""
    for path in _sources("torc_grpc/servicers"):
        bad = {m for m in _imports(path)
               if m.startswith(("torc_core.store", "torc_core.kernels", "torc_core._"))
               or _top(m) == "apsw"}
        assert not bad, f"{path} reaches past the engine: {bad}"


def test_no_stdlib_sqlite3_anywhere():
    # Two SQLite copies in one process break file locking (docs/operations.md).
    for pkg in ("torc_core", "torc_grpc"):
        for path in _sources(pkg):
            assert "sqlite3" not in {_top(m) for m in _imports(path)}, path


def test_sql_only_in_the_store_layer():
    for pkg in ("torc_core", "torc_grpc"):
        for path in _sources(pkg):
            if "store" in path.relative_to(ROOT).parts:
                continue
            for attr in ("execute", "executemany"):
                assert not _calls(path, attr), f"{path}: {attr}() outside the store"


def test_no_module_too_large():
    for pkg in ("torc_core", "torc_grpc"):
        for path in _sources(pkg, ".py", ".pyx"):
            lines = len(path.read_text().splitlines())
            limit = 470 if path.suffix == ".pyx" else 420  # a kernel is one .pyx (house style)
            assert lines <= limit, f"{path} has {lines} lines: split it by concern"


def test_no_star_imports():
    for pkg in ("torc_core", "torc_grpc", "bench"):
        for path in _sources(pkg):
            tree = ast.parse(path.read_text())
            stars = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                     and any(a.name == "*" for a in n.names)]
            assert not stars, f"{path}: star import on line {stars}"


def test_build_outputs_are_ignored():
    ignored = (ROOT / ".gitignore").read_text().split()
    for pattern in ("build/", "*.so", "torc_core/*.c"):
        assert pattern in ignored


def test_tests_use_the_compiled_kernels():
    from torc_core import kernels

    expected = "reference" if os.environ.get("TORC_NO_EXTENSIONS") == "1" else "compiled"
    assert kernels.IMPLEMENTATION == expected


def test_clients_do_not_load_the_server():
    """The CLI and the worker start in a fresh process per command and per node:
    they must not import the engine, the store or apsw (or the server's auth
    interceptor), which cost them ~50 ms each (measured: submit and worker)."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    probe = ("import sys, torc_grpc.cli, torc_grpc.worker.loop; "
             "print(' '.join(m for m in ('torc_core.engine', 'torc_core.store', 'apsw', "
             "'torc_grpc.auth.interceptor', 'torc_grpc.server', 'starlette') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd="/")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"a client process loaded {done.stdout.strip()}"
