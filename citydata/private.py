"""Files of the restricted layers (archive/, rejected/, processing/, quarantine exports, the outbox,
the embedded warehouse, the watcher's memory): owner-only whatever the umask (0700 folders, 0600
files). The landing zone is not one of them: departments write there."""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path, root: Path | None = None) -> Path:
    """Create ``path`` (and its parents) and make it and every folder from ``root`` down to it
    owner-only; ``root`` defaults to ``path`` itself."""
    path.mkdir(parents=True, exist_ok=True)
    top = root or path
    folder = path
    while True:
        os.chmod(folder, DIR_MODE)
        if folder == top or folder.parent == folder or not folder.is_relative_to(top):
            return path
        folder = folder.parent


def private_file(path: Path) -> Path:
    """Make an existing file owner-only (a delivery moved in keeps the department's mode otherwise).

    A file another account owns (a department's upload user) cannot be chmod-ed by us: its 0700
    folder already keeps everyone else out, so that is not an error."""
    try:
        os.chmod(path, FILE_MODE)
    except PermissionError:
        pass
    return path


def write_private(path: Path, data: bytes | str, encoding: str = "utf-8") -> Path:
    """Write a file created owner-only (never readable by others, not even for a moment)."""
    raw = data.encode(encoding) if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as fh:
        fh.write(raw)
    os.chmod(path, FILE_MODE)  # an existing file keeps its old mode through O_CREAT
    return path
