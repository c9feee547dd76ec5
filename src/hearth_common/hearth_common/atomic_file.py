"""Files written atomically (ROS-free): a temporary file in the same folder, flushed to disk,
then renamed over the target, so a reader (or a crash) sees the old file or the new one,
never half of one. Maps, memories and results are all written this way."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w",
                 permissions: int | None = None) -> Iterator[IO]:
    """Open a temporary file beside ``path`` (its folder is created) for writing in ``mode``
    ("w": text, UTF-8; "wb": bytes); on a clean exit it is flushed, synced and renamed over
    ``path``, with ``permissions`` (None: those ``open`` would have given it; ``mkstemp``
    makes 0600); on an exception it is removed and ``path`` is left as it was."""
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if permissions is None:
            umask = os.umask(0)
            os.umask(umask)
            permissions = 0o666 & ~umask
        os.fchmod(fd, permissions)
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
