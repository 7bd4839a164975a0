"""The landing zone contract (DESIGN.md): what is waiting, and where files go afterwards.

landing/<department>/<resource>/<file>  →  archive/<department>/<resource>/<YYYY-MM-DD>/<file>
                                         →  rejected/<department>/<resource>/<YYYY-MM-DD>/<file> (+ .error.json)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from citydata.config import Settings
from citydata.registry import Registry

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
UNKNOWN = "_unknown"


@dataclass(frozen=True)
class Landed:
    """A waiting file and the department/resource its folder says it belongs to."""

    path: Path
    department: str
    resource: str  # UNKNOWN when the folder names no registered resource
    problem: str | None = None  # why it cannot be ingested (e.g. a symlink), if any

    @property
    def relative(self) -> str:
        return f"{self.department}/{self.resource}/{self.path.name}"


def in_progress(name: str) -> bool:
    """Files still being written by the department: left alone."""
    return name.startswith(".") or name.endswith((".part", ".tmp"))


def waiting_files(registry: Registry, department: str, cfg: Settings) -> list[Landed]:
    """Every complete file under landing/<department>/, oldest first."""
    dept_dir = cfg.landing_dir / department
    if not dept_dir.is_dir():
        return []
    resources = registry.department(department).resources
    out: list[Landed] = []
    for entry in sorted(dept_dir.iterdir()):
        if in_progress(entry.name):
            continue
        if entry.is_symlink():
            out.append(Landed(entry, department, UNKNOWN, "symbolic links are not accepted in the landing zone"))
        elif entry.is_file():
            out.append(Landed(entry, department, UNKNOWN, "file is not inside a resource folder"))
        elif entry.is_dir():
            known = entry.name in resources
            for f in sorted(entry.iterdir()):
                if in_progress(f.name):
                    continue
                if f.is_symlink():
                    problem = "symbolic links are not accepted in the landing zone"
                elif not f.is_file():
                    problem = "not a regular file"
                elif not known:
                    problem = f"folder {entry.name!r} is not a resource of department {department}"
                else:
                    problem = None
                out.append(Landed(f, department, entry.name if known else UNKNOWN, problem))
    return sorted(out, key=lambda x: (_mtime(x.path), x.relative))


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


def checksum(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _dated_target(root: Path, landed: Landed) -> Path:
    day = dt.datetime.now(LOCAL_TZ).strftime("%Y-%m-%d")
    folder = root / landed.department / landed.resource / day
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / landed.path.name
    n = 1
    while target.exists() or Path(f"{target}.error.json").exists():
        target = folder / f"{landed.path.name}.{n}"
        n += 1
    return target


def _move(src: Path, dst: Path) -> None:
    try:
        os.rename(src, dst)
    except OSError:
        shutil.move(src, dst)  # other filesystem


def archive(landed: Landed, cfg: Settings) -> Path:
    target = _dated_target(cfg.archive_dir, landed)
    _move(landed.path, target)
    return target


def reject(landed: Landed, cfg: Settings, reason: str, details: str, rows_read: int) -> Path:
    """Move the file to rejected/ and write <file>.error.json beside it."""
    target = _dated_target(cfg.rejected_dir, landed)
    _move(landed.path, target)
    error = {
        "file": landed.relative,
        "department": landed.department,
        "resource": landed.resource,
        "reason": reason,
        "details": details,
        "rows_read": rows_read,
        "rejected_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    Path(f"{target}.error.json").write_text(json.dumps(error, ensure_ascii=False, indent=2), encoding="utf-8")
    return target
