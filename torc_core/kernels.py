"""Picks the compiled kernels, or the pure-Python twins when asked to.

The twins are the test oracle. Production must never slip onto them silently:
when the compiled modules cannot be imported, importing this module fails
unless TORC_NO_EXTENSIONS=1 is set, in which case it logs that the slow path
is in use.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("torc_core.kernels")

NO_EXTENSIONS = os.environ.get("TORC_NO_EXTENSIONS", "") == "1"

if NO_EXTENSIONS:
    from ._reference import Graph, ReadyIndex

    IMPLEMENTATION = "reference"
    log.warning("TORC_NO_EXTENSIONS=1: using the pure-Python kernels (slow)")
else:
    try:
        from ._graph import Graph
        from ._ready import ReadyIndex
    except ImportError as exc:  # pragma: no cover - exercised by a subprocess test
        raise ImportError(
            "torc_core's compiled kernels are missing (reinstall with `pip install .`, "
            "which compiles them); set TORC_NO_EXTENSIONS=1 to run on the slow "
            f"pure-Python kernels instead: {exc}"
        ) from exc
    IMPLEMENTATION = "compiled"
    log.info("using the compiled kernels")

__all__ = ["Graph", "IMPLEMENTATION", "ReadyIndex"]
