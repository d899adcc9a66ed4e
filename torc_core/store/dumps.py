"""Whole-database views for tests and operators: table dumps and integrity."""

from __future__ import annotations

import apsw

TABLE_NAMES = (
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
)


def dump_tables(conn: apsw.Connection) -> dict[str, list[tuple]]:
    """Every row of every table (tests compare dumps to prove nothing changed).

    SQLite's own tables are left out: sqlite_sequence advances even when a
    stream is undone, so that ids are never reused.
    """
    tables = [r[0] for r in conn.execute(TABLE_NAMES)]
    # Table names come from sqlite_master itself, not from callers.
    return {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}


def integrity_problems(conn: apsw.Connection) -> list[tuple]:
    """Rows of integrity_check and foreign_key_check that are not 'ok' (empty = fine)."""
    problems = [r for r in conn.execute("PRAGMA integrity_check") if r != ("ok",)]
    problems += conn.execute("PRAGMA foreign_key_check").fetchall()
    return problems


def _read_only(path: str) -> apsw.Connection:
    return apsw.Connection(path, flags=apsw.SQLITE_OPEN_READONLY)


def dump_file(path: str) -> dict[str, list[tuple]]:
    """dump_tables of a database file, read-only (the server may be running)."""
    conn = _read_only(path)
    try:
        return dump_tables(conn)
    finally:
        conn.close()


def file_integrity_problems(path: str) -> list[tuple]:
    """integrity_problems of a database file, read-only."""
    conn = _read_only(path)
    try:
        return integrity_problems(conn)
    finally:
        conn.close()
