"""Landing-zone watch: which delivered files are new and stable, and which were already announced.

Pure logic, no Airflow: `plugins/citydata_airflow/triggers.py` drives it from the triggerer so
that a stable file schedules its department's ingest DAG through an asset event.

- A file is *stable* when two consecutive polls saw the same size and mtime, or at once when its
  mtime is already the settle time (CITYDATA_STABLE_SECONDS) old: every write moves the mtime, so
  such a file has not changed for that long — a department writing elsewhere and renaming into
  the landing zone is announced on the first listing (names starting with `.` or ending in
  `.part`/`.tmp` are never looked at).
- An announced (path, size, mtime) is remembered in a small JSON state file, written atomically
  before the event is emitted, so a triggerer restart neither announces it again nor re-triggers
  forever a file that stays in the landing zone (ingest failing, DAG paused). The trade-off is
  at-most-once announcement: an event lost in a crash is covered by the ingest DAG's cron
  fallback, which processes everything waiting anyway.
- Entries are forgotten once their file left the landing zone (archived or rejected), so a later
  delivery under the same name is announced again; a file rewritten in place (new size or mtime)
  is a new delivery too.

Schedule settings (environment, read at DAG-parse time) live here as well so they are documented
and tested in one place.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from citydata.domain.masking import safe_label
from citydata.errors import CitydataError
from citydata.ingest.landing import printable
from citydata.private import write_private

log = logging.getLogger(__name__)

STATE_VERSION = 1
Signature = tuple[int, int]  # (size in bytes, mtime in ns)

DEFAULT_POLL_SECONDS = 1.0  # a listing of a few folders: cheap enough to do every second
DEFAULT_FALLBACK_CRON = "*/15 * * * *"
DEFAULT_PULL_CRON = "*/5 * * * *"
DEFAULT_MAX_ACTIVE_RUNS = 4
_CRON = re.compile(r"^\S+(\s+\S+){4}$")


@dataclass(frozen=True)
class Announcement:
    """One new stable file, as carried by the asset event's payload."""

    department: str
    path: str  # relative to the landing dir: <department>/<resource>/<file>
    size: int
    mtime_ns: int

    @property
    def resource(self) -> str | None:
        parts = self.path.split("/")
        return parts[1] if len(parts) == 3 else None

    @property
    def label(self) -> str:
        """The path as it may leave the raw layers (asset events, triggerer log): names masked."""
        return "/".join(printable(safe_label(part)) for part in self.path.split("/"))

    def payload(self) -> dict:
        return {"department": self.department, "resource": self.resource, "path": self.label,
                "size": self.size, "mtime_ns": self.mtime_ns}


def scan(landing_dir: Path, department: str) -> dict[str, Signature]:
    """Size and mtime of every delivered entry under landing/<department>/ (two levels, as ingest reads them).

    Misplaced files and symbolic links are included: the ingest DAG rejects them with a reason,
    which is better than leaving them unnoticed until the fallback run.
    """
    from citydata.ingest.landing import (
        in_progress,  # here, not at top: dags/ingest.py imports this module at parse time
    )

    dept_dir = landing_dir / department
    out: dict[str, Signature] = {}
    try:
        top = list(os.scandir(dept_dir))
    except FileNotFoundError:
        return out
    for entry in top:
        if in_progress(entry.name):
            continue
        if entry.is_dir(follow_symlinks=False):
            try:
                inner = list(os.scandir(entry.path))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for f in inner:
                if not in_progress(f.name) and not f.is_dir(follow_symlinks=False):
                    _add(out, f, f"{department}/{entry.name}/{f.name}")
        else:
            _add(out, entry, f"{department}/{entry.name}")
    return out


def _add(out: dict[str, Signature], entry: os.DirEntry, relative: str) -> None:
    try:
        st = entry.stat(follow_symlinks=False)
    except FileNotFoundError:  # moved away between listing and stat
        return
    out[relative] = (st.st_size, st.st_mtime_ns)


class LandingWatch:
    """Stability and memory for one department's landing folder."""

    def __init__(self, department: str, state_path: Path | None, settle_seconds: float = 0.0) -> None:
        self.department = department
        self.state_path = state_path
        self.settle_ns = int(settle_seconds * 1e9)  # 0: only two equal polls make a file stable
        self.announced: dict[str, Signature] = self._load()
        self._previous: dict[str, Signature] | None = None  # not persisted: stability is re-proven after a restart

    def poll(self, snapshot: dict[str, Signature], now_ns: int | None = None) -> list[Announcement]:
        """Files stable (see the module docstring) and not yet announced with this size/mtime, oldest first."""
        previous = self._previous or {}
        now_ns = time.time_ns() if now_ns is None else now_ns
        self._previous = dict(snapshot)
        gone = [p for p in self.announced if p not in snapshot]
        for p in gone:
            del self.announced[p]
        if gone:
            self._save()
        fresh = [
            Announcement(self.department, path, *sig)
            for path, sig in snapshot.items()
            if self.announced.get(path) != sig
            and (previous.get(path) == sig or (self.settle_ns and now_ns - sig[1] >= self.settle_ns))
        ]
        return sorted(fresh, key=lambda a: (a.mtime_ns, a.path))

    def remember(self, announcement: Announcement) -> None:
        """Record an announcement durably; call before emitting its event."""
        self.announced[announcement.path] = (announcement.size, announcement.mtime_ns)
        self._save()

    def _load(self) -> dict[str, Signature]:
        if self.state_path is None or not self.state_path.exists():
            return {}
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
            if data.get("version") != STATE_VERSION:
                raise ValueError(f"unknown state version {data.get('version')!r}")
            return {str(p): (int(s[0]), int(s[1])) for p, s in data["announced"].items()}
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            # Starting empty re-announces files still waiting: one extra ingest run, never double loading.
            log.warning("watch state %s is unreadable (%s); starting with an empty memory", self.state_path, exc)
            return {}

    def _save(self) -> None:
        if self.state_path is None:
            return
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        data = {"version": STATE_VERSION, "department": self.department,
                "announced": {p: list(s) for p, s in sorted(self.announced.items())}}
        tmp = self.state_path.with_name(f".{self.state_path.name}.{os.getpid()}.tmp")
        write_private(tmp, json.dumps(data, indent=1))
        os.replace(tmp, self.state_path)


def state_path(home: Path, department: str) -> Path:
    """Where the watcher of a department keeps its memory (under CITYDATA_HOME, shared by the triggerers)."""
    return home / "watch" / f"{department}.json"


def poll_seconds() -> float:
    """CITYDATA_WATCH_POLL_SECONDS: how often the watcher lists a landing folder (default 1 s)."""
    raw = os.environ.get("CITYDATA_WATCH_POLL_SECONDS") or str(DEFAULT_POLL_SECONDS)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise CitydataError(f"CITYDATA_WATCH_POLL_SECONDS={raw!r}: expected a positive number of seconds")
    return value


def max_active_runs() -> int:
    """CITYDATA_INGEST_MAX_ACTIVE_RUNS: runs of one ingest DAG at once (default 4).

    A file dropped while a run is busy gets a run of its own at once instead of waiting for the
    busy one to finish (that wait was most of drop-to-queryable); the landing claim keeps two
    runs from loading one file, and pulls and owner emails run one at a time per department.
    """
    raw = os.environ.get("CITYDATA_INGEST_MAX_ACTIVE_RUNS") or str(DEFAULT_MAX_ACTIVE_RUNS)
    if not raw.isdigit() or int(raw) < 1:
        raise CitydataError(f"CITYDATA_INGEST_MAX_ACTIVE_RUNS={raw!r}: expected a whole number >= 1")
    return int(raw)


def fallback_cron() -> str:
    """CITYDATA_INGEST_FALLBACK_CRON: ingest runs at least this often even without watcher events (Asia/Shanghai)."""
    return _cron("CITYDATA_INGEST_FALLBACK_CRON", DEFAULT_FALLBACK_CRON)


def pull_cron() -> str:
    """CITYDATA_PULL_CRON: how often departments with HTTP/database resources are polled (Asia/Shanghai)."""
    return _cron("CITYDATA_PULL_CRON", DEFAULT_PULL_CRON)


def _cron(name: str, default: str) -> str:
    value = (os.environ.get(name) or default).strip()
    if not _CRON.match(value):
        raise CitydataError(f"{name}={value!r}: expected a 5-field cron expression such as {default!r}")
    return value
