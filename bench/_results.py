"""Shared by the bench scripts: the machine line and bench/RESULTS.md sections.

Each script owns one section of RESULTS.md (between its markers) and
rewrites only that section, stamped with date, commit and machine.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
TITLE = "# Benchmark results\n\nWritten by the scripts in bench/; each section says when, on what, at which commit.\n"


def commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=Path(__file__).parent, timeout=10).stdout.strip()
        return out.stdout.strip() + ("+changes" if dirty else "") or "unknown"
    except OSError:
        return "unknown"


def machine() -> str:
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f", {int(f.readline().split()[1]) / 1024**2:.0f} GiB RAM"
    except OSError:
        pass
    return (f"{platform.machine()}, {os.cpu_count()} cores{mem}, Linux {platform.release()}, "
            f"Python {platform.python_version()}")


def table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(name: str, body: str) -> None:
    """Replace (or add) section `name` of RESULTS.md with body plus a stamp."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    stamp = f"{datetime.date.today().isoformat()}, commit {commit()}, {machine()}"
    block = f"{start}\n## {name}\n\n_{stamp}_\n\n{body.strip()}\n{end}"
    text = RESULTS.read_text() if RESULTS.exists() else TITLE
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(text)
    print(f"wrote section {name!r} of {RESULTS}")
