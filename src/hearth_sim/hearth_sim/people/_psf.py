"""Imports pysocialforce without its side effects.

pysocialforce 1.1.2's ``pysocialforce.utils.logging``, run on import, sets the *root* logger
to DEBUG with a console handler (every library's debug output, numba's compiler traces
included, then floods stderr) and opens ``file.log`` in the current directory. Its loggers
are only used for debug messages, so this module puts a quiet stand-in for that one module
in ``sys.modules`` before pysocialforce is first imported. The physics is untouched.
"""

from __future__ import annotations

import logging
import sys
import types
from collections.abc import Callable

_LOGGING_MODULE = "pysocialforce.utils.logging"


def _passthrough(f: Callable) -> Callable:
    return f


if "pysocialforce" not in sys.modules and _LOGGING_MODULE not in sys.modules:
    _quiet_logging = types.ModuleType(_LOGGING_MODULE)
    _quiet_logging.logger = logging.getLogger("pysocialforce")
    _quiet_logging.timeit = _passthrough
    sys.modules[_LOGGING_MODULE] = _quiet_logging

import pysocialforce  # noqa: E402

psf = pysocialforce
__all__ = ["psf"]
