"""The landing zone contract (docs/architecture.md): what is waiting, and where files go afterwards.

landing/<department>/<resource>/<file>  →  archive/<department>/<resource>/<YYYY-MM-DD>/<file>
                                         →  rejected/<department>/<resource>/<YYYY-MM-DD>/<file> (+ .error.json)

While a run works on a file it holds it in processing/<claim>/<department>/<resource>/ (an atomic
rename, so two runs never load the same file); a claim whose run died goes back to landing/.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import time
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from citydata.config import Settings
from citydata.domain.masking import mask_text, safe_label
from citydata.domain.time import LOCAL_TZ
from citydata.errors import CitydataError
from citydata.private import private_dir, private_file, write_private
from citydata.registry import Registry

UNKNOWN = "_unknown"
LOCK = ".lock"
# Names stored in archive/ and rejected/ stay below this many bytes, so "<name>.error.json",
# ".<n>" and ".recovered-<n>" always fit the usual 255-byte limit of a file name.
MAX_NAME_BYTES = 200
DEFAULT_STABLE_SECONDS = 2.0
Signature = tuple[int, int]  # (size in bytes, mtime in ns), as the watcher compares them
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Landed:
    """A waiting file and the department/resource its folder says it belongs to."""

    path: Path
    department: str
    resource: str  # UNKNOWN when the folder names no registered resource
    problem: str | None = None  # why it cannot be ingested (e.g. a symlink), if any
    folder: str | None = None  # the folder the department used, when it names no resource ("" = none)

    @property
    def relative(self) -> str:
        """The path the department used, <department>/<folder>/<name>, for audit rows, logs, reports
        and emails: control characters escaped; the folder and file names are delivered content, so
        only their safe labels (masking.safe_label) leave the raw layers (the original is kept in
        audit.source_names and in the stored file's name under archive/ or rejected/)."""
        folder = self.resource if self.folder is None else self.folder
        return "/".join(p for p in (self.department, printable(safe_label(folder)),
                                    printable(safe_label(self.path.name))) if p)

    @property
    def raw_relative(self) -> str | None:
        """The delivered name when ``relative`` had to mask it (kept in audit.source_names only)."""
        folder = self.resource if self.folder is None else self.folder
        raw = printable("/".join(p for p in (self.department, folder, self.path.name) if p))
        return None if raw == self.relative else raw


class FileChanged(CitydataError):
    """The file changed (size, mtime or content) while it was read: it goes back to the landing zone."""


def printable(name: str) -> str:
    """A file name as one log line can carry it: control characters (newline, tab, …) escaped."""
    if not any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        return name
    return "".join(ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")
                   else ch for ch in name)


def safe_name(name: str, limit: int = MAX_NAME_BYTES) -> str:
    """A name to store a delivery under: control characters replaced, and when too long the stem
    cut at a character boundary with a hash of the whole original name, the extension kept."""
    clean = "".join("_" if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") or ch == "/" else ch for ch in name)
    if clean == name and len(name.encode("utf-8")) <= limit:
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    stem, dot, ext = clean.rpartition(".")
    if not dot or not stem or len(ext.encode("utf-8")) > 16:
        stem, ext = clean, ""
    tail = f"~{digest}" + (f".{ext}" if ext else "")
    room = limit - len(tail.encode("utf-8"))
    cut = stem.encode("utf-8")[:room].decode("utf-8", "ignore")
    return cut + tail


def name_problem(name: str) -> str | None:
    """Why a delivered file name is refused, if it is: control characters would forge log and audit lines."""
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in name):
        return "file name contains control characters (e.g. a newline); rename the file"
    return None


def signature(path: Path) -> Signature:
    st = path.stat()
    return (st.st_size, st.st_mtime_ns)


def stable_seconds() -> float:
    """CITYDATA_STABLE_SECONDS: a file is taken only when its size and mtime did not change over
    this settle time (default 2 s; 0 takes files as listed and relies on the read-time check)."""
    raw = os.environ.get("CITYDATA_STABLE_SECONDS") or str(DEFAULT_STABLE_SECONDS)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise CitydataError(f"CITYDATA_STABLE_SECONDS={raw!r}: expected a number of seconds >= 0")
    return value


def _signatures(files: list[Landed]) -> dict[Path, Signature | None]:
    out: dict[Path, Signature | None] = {}
    for f in files:
        try:
            st = f.path.lstat()
            out[f.path] = (st.st_size, st.st_mtime_ns)
        except OSError:
            out[f.path] = None
    return out


def settled(files: list[Landed], seconds: float | None = None) -> list[Landed]:
    """The files whose size and mtime stayed the same over ``seconds``.

    Every path that takes files (cron fallback, manual runs, the DAG's list) goes through here, as
    the watcher does: a department writing straight to the final name is left alone until it
    stops. Every write moves the mtime, so a file whose mtime is already ``seconds`` old has not
    changed for that long and is taken without waiting; for younger files one wait (until the
    youngest is ``seconds`` old, never longer than ``seconds``) and a second look decide. (This
    trusts the writer's clock to within the settle time, as any mtime comparison does.) A file
    that changes later, while it is read, is caught by the read-time check.
    """
    seconds = stable_seconds() if seconds is None else seconds
    if not files or seconds <= 0:
        return files
    first = _signatures(files)
    now_ns = time.time_ns()
    ages = {f.path: (now_ns - sig[1]) / 1e9 for f in files if (sig := first[f.path]) is not None}
    young = [f for f in files if ages.get(f.path, 0.0) < seconds]
    if not young:
        return files
    time.sleep(min(seconds, seconds - min(ages.get(f.path, 0.0) for f in young)))  # until the youngest is old enough
    second = _signatures(young)
    moving = [f for f in young if first[f.path] is None or first[f.path] != second[f.path]]
    for f in moving:
        log.info("%s is still being written (size or mtime changed over %.1f s): left for the next run",
                 f.relative, seconds)
    return [f for f in files if f not in moving]


def in_progress(name: str) -> bool:
    """Files still being written by the department: left alone."""
    return name.startswith(".") or name.endswith((".part", ".tmp"))


def waiting_files(registry: Registry, department: str, cfg: Settings, settle: float | None = None) -> list[Landed]:
    """Every complete, stable file under landing/<department>/, oldest first (see ``settled``)."""
    dept_dir = _department_dir(department, cfg)
    if dept_dir is None:
        return []
    out: list[Landed] = []
    for entry in sorted(dept_dir.iterdir()):
        if in_progress(entry.name):
            continue
        if entry.is_dir() and not entry.is_symlink():
            out += [_in_folder(f, registry, department) for f in sorted(entry.iterdir()) if not in_progress(f.name)]
        elif landed := _at_top(entry, department):
            out.append(landed)
    return settled(sorted(out, key=lambda x: (_mtime(x.path), x.relative)), settle)


def waiting_file(path: Path, registry: Registry, department: str, cfg: Settings) -> Landed | None:
    """The file at ``path`` judged exactly as ``waiting_files`` judges it, or None when it is not
    waiting (any more). A lookup, not a listing: a run of N files does not list the folder N times."""
    dept_dir = _department_dir(department, cfg)
    if dept_dir is None or in_progress(path.name) or not os.path.lexists(path):
        return None
    if path.parent == dept_dir:
        return _at_top(path, department)
    folder = path.parent
    if folder.parent != dept_dir or in_progress(folder.name) or folder.is_symlink() or not folder.is_dir():
        return None
    return _in_folder(path, registry, department)


def handle(landed: Landed, cfg: Settings) -> str:
    """How a waiting file is named to Airflow (XCom, mapped-task labels, logs): its path relative to
    the landing dir, or, when the name carries something personal (safe_label masked part of it),
    the masked path plus a hash of the real one, which ``resolve`` turns back into the file."""
    raw = str(landed.path.relative_to(cfg.landing_dir))
    label = "/".join(printable(safe_label(part)) for part in Path(raw).parts)
    if label == raw:
        return raw
    return f"{label}#{_digest(raw)}"


def resolve(ref: str, registry: Registry, department: str, cfg: Settings) -> Landed | None:
    """The waiting file a ``handle`` names (None when it is not waiting any more)."""
    path = cfg.landing_dir / ref
    if os.path.lexists(path) or not re.fullmatch(r".*#[0-9a-f]{16}", ref):
        return waiting_file(path, registry, department, cfg)
    want = ref.rsplit("#", 1)[1]
    dept_dir = _department_dir(department, cfg)
    if dept_dir is None:
        return None
    parts = ref.split("/")
    folders = [dept_dir / parts[1]] if len(parts) == 3 and parts[1] in registry.department(department).resources \
        else [dept_dir, *(e for e in dept_dir.iterdir() if e.is_dir() and not e.is_symlink())]
    for folder in folders:
        for entry in os.scandir(folder) if folder.is_dir() else ():
            candidate = Path(entry.path)
            if _digest(str(candidate.relative_to(cfg.landing_dir))) == want:
                return waiting_file(candidate, registry, department, cfg)
    return None


def _digest(relative: str) -> str:
    return hashlib.sha256(relative.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _department_dir(department: str, cfg: Settings) -> Path | None:
    dept_dir = cfg.landing_dir / department
    if dept_dir.is_symlink():  # e.g. a link to another department's folder: never followed
        log.error("landing/%s is a symbolic link: not read (a department folder must be a real folder)", department)
        return None
    return dept_dir if dept_dir.is_dir() else None


def _at_top(entry: Path, department: str) -> Landed | None:
    """An entry directly in landing/<department>/ (not a folder): always a problem."""
    if entry.is_symlink():
        return Landed(entry, department, UNKNOWN, "symbolic links are not accepted in the landing zone", "")
    if entry.is_file() and name_problem(entry.name):
        return Landed(entry, department, UNKNOWN, name_problem(entry.name), "")
    if entry.is_file():
        return Landed(entry, department, UNKNOWN, "file is not inside a resource folder", "")
    return None


def _in_folder(f: Path, registry: Registry, department: str) -> Landed:
    """An entry of landing/<department>/<folder>/."""
    known = f.parent.name in registry.department(department).resources
    if f.is_symlink():
        problem = "symbolic links are not accepted in the landing zone"
    elif name_problem(f.name):
        problem = name_problem(f.name)
    elif not f.is_file():
        problem = "not a regular file"
    elif not known:
        problem = f"folder {f.parent.name!r} is not a resource of department {department}"
    else:
        problem = None
    return Landed(f, department, f.parent.name if known else UNKNOWN, problem, None if known else f.parent.name)


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
    folder = private_dir(root / landed.department / landed.resource / day, root)
    name = safe_name(landed.path.name)
    target = folder / name
    n = 1
    while target.exists() or Path(f"{target}.error.json").exists():
        target = folder / f"{name}.{n}"
        n += 1
    return target


def _move(src: Path, dst: Path) -> None:
    """Rename, or copy across filesystems; a failed copy (e.g. disk full) leaves no partial target."""
    try:
        os.rename(src, dst)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    try:
        shutil.copy2(src, dst)
    except BaseException:
        dst.unlink(missing_ok=True)
        raise
    src.unlink()


@contextmanager
def claim(landed: Landed, cfg: Settings) -> Iterator[Landed | None]:
    """Hold a waiting file for this run: yields it moved under processing/, or None if another run has it.

    The claim folder carries a lock held for the whole block, so a later run can tell a live
    claim from one left by a killed worker (see recover_claims). On leaving the block a file
    not yet archived or rejected (an error: warehouse down, disk full) goes back to landing/.
    """
    root = cfg.zone_root / "processing"
    token = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging = root / f".{token}"
    folder = staging / landed.department / landed.resource
    private_dir(root)
    private_dir(folder, staging)
    lock = (staging / LOCK).open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(staging, root / token)  # visible to recover_claims only once locked
        held = root / token / landed.department / landed.resource / landed.path.name
        try:
            os.rename(landed.path, held)
        except FileNotFoundError:
            yield None  # another run claimed (or finished) it first
            return
        mode = held.stat().st_mode
        private_file(held)  # raw layer from here on; the department's mode comes back with the file
        try:
            yield replace(landed, path=held)
        finally:
            if held.exists():
                _restore_mode(held, mode)
                _move(held, _free_name(landed.path))
    finally:
        shutil.rmtree(root / token, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
        lock.close()


def _restore_mode(path: Path, mode: int) -> None:
    try:
        os.chmod(path, stat.S_IMODE(mode))
    except OSError:
        pass


def _free_name(path: Path) -> Path:
    """``path``, or a free sibling name (.recovered-<n>), always short enough to be created."""
    n, target = 1, path
    while os.path.lexists(target):
        target = path.with_name(safe_name(f"{path.stem}.recovered-{n}{path.suffix}", 240))
        n += 1
    return target


def recover_claims(cfg: Settings) -> list[Path]:
    """Put files claimed by runs that died (their lock is free) back into the landing zone."""
    root = cfg.zone_root / "processing"
    if not root.is_dir():
        return []
    recovered = []
    for claim_dir in sorted(root.iterdir()):
        if claim_dir.name.startswith(".") or not claim_dir.is_dir():
            continue
        try:
            lock = (claim_dir / LOCK).open("a")
        except OSError:
            continue
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live run holds it
            for f in sorted(claim_dir.glob("*/*/*")):
                if f.is_file() and not f.is_symlink():
                    dest = _free_name(cfg.landing_dir / f.relative_to(claim_dir))
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    _move(f, dest)
                    recovered.append(dest)
                    log.warning("recovered %s from an interrupted run's claim %s", dest, claim_dir.name)
            shutil.rmtree(claim_dir, ignore_errors=True)
        finally:
            lock.close()
    return recovered


def archive(landed: Landed, cfg: Settings) -> Path:
    target = _dated_target(cfg.archive_dir, landed)
    _move(landed.path, target)
    return private_file(target)


def reject(landed: Landed, cfg: Settings, reason: str, details: str, rows_read: int, message: str | None = None) -> Path:
    """Move the file to rejected/ and write <file>.error.json beside it: ``message`` first (Chinese for the
    department, citydata.render.reasons), then the English code and details for engineers."""
    target = _dated_target(cfg.rejected_dir, landed)
    _move(landed.path, target)
    private_file(target)
    error = {
        **({"message": mask_text(message)} if message else {}),
        "file": landed.relative,
        "stored_as": printable(safe_label(target.name)),
        "department": landed.department,
        "resource": landed.resource,
        "reason": mask_text(reason),
        "details": mask_text(details),
        "rows_read": rows_read,
        "rejected_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    write_private(Path(f"{target}.error.json"), json.dumps(error, ensure_ascii=False, indent=2))
    return target
