"""Builds the torc_core Cython extensions; everything else is in pyproject.toml.

TORC_DEBUG=1 builds with annotate HTML and line tracing (for profiling the
kernels); generated .c files are build outputs and never committed.
"""

import os

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("TORC_DEBUG") == "1"

directives = {"language_level": "3", "embedsignature": True}
macros = []
if DEBUG:
    directives.update(linetrace=True, binding=True)
    macros.append(("CYTHON_TRACE_NOGIL", "1"))

extensions = [
    Extension(
        f"torc_core.{name}",
        [f"torc_core/{name}.pyx"],
        extra_compile_args=["-O2"],
        define_macros=macros,
    )
    for name in ("_graph", "_ready")
]

setup(
    ext_modules=cythonize(extensions, compiler_directives=directives, annotate=DEBUG),
)
