"""Engines and SQL rendering: the small dialect layer between include/sql/ and a database.

SQL files name tables as ``layer.table`` (PostgreSQL schemas). SQLite has no schemas, so
there the same name becomes ``layer__table``; ``{{param}}`` placeholders are filled from
code (identifiers only: values are always bound parameters).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text

from citydata.config import REPO_ROOT, settings
from citydata.errors import CitydataError
from citydata.private import private_file

SQL_DIR = REPO_ROOT / "include" / "sql"
LAYERS = ("raw", "core", "audit", "quality", "share", "kpi", "meta")
_QUALIFIED = re.compile(r"\b(" + "|".join(LAYERS) + r")\.([a-z_][a-z0-9_]*)\b")
_PARAM = re.compile(r"\{\{\s*(\w+)\s*\}\}")

TYPES = {
    "postgresql": {
        "string": "TEXT",
        "integer": "BIGINT",
        "float": "DOUBLE PRECISION",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMPTZ",
        "date": "DATE",
        "id_pk": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "json": "TEXT",
    },
    "sqlite": {
        "string": "TEXT",
        "integer": "INTEGER",
        "float": "REAL",
        "boolean": "INTEGER",
        "timestamp": "TEXT",
        "date": "TEXT",
        "id_pk": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "json": "TEXT",
    },
}


def ident(name: str) -> str:
    """A column name from the registry, quoted for SQL on both backends: a field may be called
    ``order``, ``desc`` or ``user`` (names are lower case, so quoted and bare references agree)."""
    return '"' + name.replace('"', '""') + '"'


def idents(names: object, prefix: str = "") -> str:
    """``a, b`` as ``"a", "b"`` (each with ``prefix``, e.g. ``s.``): a column list for SQL."""
    return ", ".join(prefix + ident(n) for n in names)


def qualify(layer: str, table: str, dialect: str) -> str:
    return f"{layer}.{table}" if dialect == "postgresql" else f"{layer}__{table}"


def render(sql: str, dialect: str, **params: str) -> str:
    """Fill ``{{param}}`` placeholders and map ``layer.table`` names for the dialect."""
    types = TYPES[dialect]

    def fill(m: re.Match) -> str:
        name = m.group(1)
        if name in params:
            return str(params[name])
        if name.startswith("t_") and name[2:] in types:
            return types[name[2:]]
        raise KeyError(f"SQL placeholder {{{{{name}}}}} has no value")

    sql = _PARAM.sub(fill, sql)
    if dialect != "postgresql":
        sql = _QUALIFIED.sub(r"\1__\2", sql)
    return sql


@cache
def _read_sql(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def sql_file(name: str, dialect: str, **params: str) -> str:
    """Render ``include/sql/<name>`` for a dialect; ``<stem>_<dialect>.sql`` beside it, when there
    is one, is that dialect's own version of the statement (e.g. audit/close_batch)."""
    path = SQL_DIR / name
    variant = path.with_name(f"{path.stem}_{dialect}{path.suffix}")
    return render(_read_sql(variant if _exists(variant) else path), dialect, **params)


@cache
def _exists(path: Path) -> bool:
    return path.is_file()


def statements(sql: str) -> list[str]:
    """Split a rendered file into statements (our files put each ';' that ends one at a line end)."""
    return [s.strip() for s in re.split(r";\s*\n", sql + "\n") if s.strip() and not _only_comments(s)]


def _only_comments(s: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in s.splitlines())


def _private_sqlite(path: Path) -> None:
    """The embedded warehouse holds raw personal data: its file (and, through SQLite, which gives
    its journals the database's mode) is owner-only whatever the umask."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for p in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        if p.exists():
            private_file(p)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
    # WAL lets readers run beside one writer; a long busy timeout makes concurrent
    # Airflow tasks wait for the write lock instead of failing.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    # Write transactions (transaction()) take the write lock at BEGIN, so two writers queue
    # instead of deadlocking on a lock upgrade; reads stay deferred and never wait on a writer.
    conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('sqlite_begin', 'DEFERRED')}")


def normalise_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


_ENGINES: dict[str, Engine] = {}


def engine(url: str | None = None) -> Engine:
    """One engine per URL per process (the default: CITYDATA_WAREHOUSE_URL)."""
    url = normalise_url(url or settings().warehouse_url)
    if url in _ENGINES:
        return _ENGINES[url]
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            _private_sqlite(Path(path))
        eng = create_engine(url, connect_args={"timeout": 60})
        event.listen(eng, "connect", _sqlite_pragmas)
        event.listen(eng, "begin", _sqlite_begin)
    elif url.startswith("postgresql"):
        eng = create_engine(url, pool_pre_ping=True)
    else:
        raise CitydataError(f"unsupported warehouse URL {url!r}: use sqlite:/// or postgresql+psycopg://")
    _ENGINES[url] = eng
    return eng


def dispose_engines() -> None:
    for eng in _ENGINES.values():
        eng.dispose()
    _ENGINES.clear()


@contextmanager
def transaction(url: str | None = None) -> Iterator[Connection]:
    """One write transaction; a database failure becomes a one-line CitydataError."""
    from sqlalchemy.exc import DBAPIError

    eng = engine(url)
    try:
        with eng.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn
    except DBAPIError as exc:
        where = eng.url.render_as_string(hide_password=True)
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise CitydataError(f"warehouse {where}: {first}") from exc


def run_file(conn: Connection, name: str, binds: dict | None = None, **params: str) -> None:
    """Run every statement of a file; a file whose first line is ``-- one statement`` (e.g. a
    function body full of ';') runs whole."""
    sql = sql_file(name, conn.dialect.name, **params)
    for stmt in [sql] if sql.startswith("-- one statement") else statements(sql):
        conn.execute(text(stmt), binds or {})
