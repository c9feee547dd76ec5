"""Write a JSON file atomically: a temporary file in the same folder, flushed to disk, then
renamed over the target, so a reader (or a crash) never sees half a file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hearth_common.atomic_file import atomic_write


def write_json_atomic(path: Path, data: Any, default: Callable | None = None,
                      sort_keys: bool = True) -> None:
    """``data`` as indented JSON at ``path`` (its folder is created); ``default`` converts
    what ``json`` does not know (numpy scalars, for instance)."""
    with atomic_write(Path(path)) as f:
        json.dump(data, f, indent=1, sort_keys=sort_keys, default=default)
        f.write("\n")
