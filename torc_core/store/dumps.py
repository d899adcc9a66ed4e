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
