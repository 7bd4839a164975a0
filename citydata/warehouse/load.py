"""One delivery (file or pull) → one transaction: staging, quarantine, upsert and audit row.

PostgreSQL stages with COPY (psycopg 3) from Arrow-written CSV; SQLite with executemany.
Either way the rows reach core through set-based SQL, and the audit row that records the
accounting and t_landed commits in the same transaction.

Where the time goes (bench/, docs/performance.md): on PostgreSQL the upsert dominated,
and sorting keys under the database's collation is its most expensive part. So: one MERGE
(a hash join with core) rewrites changed rows and inserts new keys; the de-duplication pass
(a sort of every row) runs only when the checks saw a key repeat; and a delivery into an
empty core table is copied straight into it with its indexes dropped and rebuilt once (or,
when keys repeat, merged from staging the same way), all in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, text

from citydata.registry import Resource
from citydata.warehouse import pg_binary
from citydata.warehouse.db import TYPES, ident, idents, qualify, sql_file
from citydata.warehouse.event_counts import SecondCounter, trigger_name

# Session settings for the load transaction only (SET LOCAL): sorts and hashes of a large
# delivery stay in memory instead of spilling to disk at PostgreSQL's 4 MB default. A first
# load's index builds sort with one helper process beside the leader: measured on 2 cores,
# the three indexes of 1M meter readings took 1.0-1.2 s so, 1.3-1.5 s with the default two
# helpers (three processes contending for two cores) and 1.5 s with none.
PG_LOAD_SETTINGS = {"work_mem": "256MB", "maintenance_work_mem": "512MB", "max_parallel_maintenance_workers": "1"}
log = logging.getLogger(__name__)
# Below this many staged rows an empty core table is loaded the normal way: the shortcut
# takes an exclusive lock, which is not worth it for a small delivery.
FIRST_LOAD_MIN_ROWS = 50_000


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ts_param(value: dt.datetime, dialect: str) -> dt.datetime | str:
    """Timestamps bind as datetimes on PostgreSQL and as sortable UTC ISO text on SQLite."""
    value = value.astimezone(dt.UTC)
    return value if dialect == "postgresql" else value.strftime("%Y-%m-%d %H:%M:%S.%f+00:00")


def utc_text(col: pa.Array | pa.ChunkedArray, suffix: str) -> pa.Array | pa.ChunkedArray:
    """UTC timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' + suffix, fast.

    Arrow formats tz-aware timestamps through the time-zone database value by value (about
    3 s per million); the same instants as naive UTC format 30× faster. Same text as
    ``strftime('%Y-%m-%d %H:%M:%S.%f')`` for microsecond timestamps.
    """
    naive = pc.cast(col, pa.timestamp("us", tz=None)) if col.type.tz is not None else pc.cast(col, pa.timestamp("us"))
    return pc.binary_join_element_wise(pc.cast(naive, pa.string()), pa.scalar(suffix), "")


class BatchLoad:
    """Accumulates one delivery inside an open transaction, then upserts it into core."""

    def __init__(self, conn: Connection, resource: Resource, source_kind: str, source: str,
                 checksum: str | None = None, run_id: str | None = None) -> None:
        self.conn, self.resource, self.source = conn, resource, source
        self.dialect = conn.dialect.name
        self.staged = 0
        self.staging = f"stg_{resource.table}"
        self.deduped = f"stg_{resource.table}_d"
        self.columns = [f.name for f in resource.fields]
        self.first_load = False  # True when a first-load shortcut (indexes dropped and rebuilt) was taken
        self.deduplicated = False  # set by upsert(): True when the staged rows were de-duplicated in SQL
        self.direct: bool | None = None  # PostgreSQL: rows go straight into an empty core table (decided once)
        self.direct_rows = 0
        self.stale = 0  # staged keys core already held in a newer version (quality.stale_rows)
        self._direct_counts = SecondCounter(resource)
        self._replayed = False  # some staged row carries an _origin (replay): the version guard must run
        self._indexes: list = []
        self._target_types: dict[str, dict[str, str]] = {}  # load target -> column -> server type
        self.batch_id = conn.execute(
            text(sql_file("audit/open_batch.sql", self.dialect)),
            {"department": resource.department, "resource": resource.name, "source_kind": source_kind,
             "source": source, "checksum": checksum, "run_id": run_id,
             "started_at": ts_param(utcnow(), self.dialect)},
        ).scalar_one()
        types = TYPES[self.dialect]
        cols = ",\n    ".join(f"{ident(f.name)} {types[f.type]}" for f in resource.fields)
        self._drop_staging()
        conn.execute(text(sql_file("load/staging.sql", self.dialect, staging=self.staging, columns=cols)))

    def stage(self, table: pa.Table, rows: pa.Array, *, keys_unique: bool = False,
              origin: pa.Array | None = None) -> None:
        """Add typed rows; ``rows`` holds their positions in the source (last one wins).

        ``keys_unique``: no primary key of the delivery so far (this batch included) repeats.
        On PostgreSQL, while that holds and the core table was empty, rows are copied straight
        into core (the direct first load, see ``_start_direct``); otherwise into staging.
        ``origin`` (replay): the audit batch each row first came from, for the version guard.
        """
        if table.num_rows == 0:
            return
        staged = table.append_column("_row", rows)
        if origin is not None:
            staged = staged.append_column("_origin", origin)
            self._replayed = True
        if self.dialect != "postgresql":
            self._insert(staged)
            self.staged += table.num_rows
            return
        if keys_unique and origin is None and self.direct is None and not self.staged:
            self.direct = table.num_rows >= FIRST_LOAD_MIN_ROWS and self._start_direct()
        if keys_unique and origin is None and self.direct:
            self._direct_counts.add(table)
            batch = pa.array(np.full(table.num_rows, self.batch_id, dtype=np.int64))
            self._copy(table.append_column("_batch_id", batch), qualify("core", self.resource.table, self.dialect))
            self.direct_rows += table.num_rows
            return
        self._copy(staged, self.staging)
        self.staged += table.num_rows

    def _copy(self, table: pa.Table, target: str) -> None:
        raw = self.conn.connection.driver_connection
        if self._binary(table, target):
            order, parts = pg_binary.encode(table)
            with raw.cursor() as cur, cur.copy(f"COPY {target} ({idents(order)}) FROM STDIN (FORMAT binary)") as copy:
                for part in parts:
                    copy.write(memoryview(part))
            return
        cols = idents(table.column_names)
        import pyarrow.csv as pacsv

        for i, field in enumerate(table.schema):
            if pa.types.is_timestamp(field.type):  # 'Z': PostgreSQL reads UTC whatever the session time zone
                table = table.set_column(i, field.name, utc_text(table.column(i), "Z"))
        buf = io.BytesIO()
        pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False))
        with raw.cursor() as cur, cur.copy(f"COPY {target} ({cols}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(buf.getbuffer())

    def _binary(self, table: pa.Table, target: str) -> bool:
        """Whether every column goes to a server column of the type pg_binary encodes it as
        (a table altered by hand falls back to CSV, which the server converts)."""
        if target not in self._target_types:
            found = self.conn.execute(text(sql_file("load/column_types.sql", self.dialect)), {"target": target})
            self._target_types[target] = dict(found.tuples().all())
        types = self._target_types[target]
        return all(types.get(f.name) == pg_binary.pg_type(f.type) for f in table.schema)

    def _insert(self, table: pa.Table) -> None:
        arrays = []
        for name in table.column_names:
            col = table.column(name)
            if pa.types.is_timestamp(col.type):
                col = utc_text(col, "+00:00")
            elif pa.types.is_date(col.type):
                col = pc.cast(col, pa.string())
            arrays.append(col.to_pylist())
        cols = idents(table.column_names)
        marks = ", ".join("?" * len(table.column_names))
        raw = self.conn.connection.driver_connection
        raw.executemany(f"INSERT INTO {self.staging} ({cols}) VALUES ({marks})", list(zip(*arrays, strict=True)))

    def quarantine(self, rows: list[dict]) -> None:
        """rows: {row_number, record (raw values), errors (list of dicts)}."""
        if not rows:
            return
        now = ts_param(utcnow(), self.dialect)
        self.conn.execute(
            text(sql_file("audit/insert_quarantine.sql", self.dialect)),
            [
                {"batch_id": self.batch_id, "department": self.resource.department, "resource": self.resource.name,
                 "source": self.source, "row_number": r["row_number"],
                 "record": json.dumps(r["record"], ensure_ascii=False, default=str),
                 "errors": json.dumps(r["errors"], ensure_ascii=False, default=str), "created_at": now}
                for r in rows
            ],
        )

    def upsert(self, *, keys_unique: bool = False) -> int:
        """Move staged rows into core; returns rows inserted or changed (the rest are duplicates).

        ``keys_unique``: the checks saw no primary key twice in the delivery, so PostgreSQL
        joins the staging table directly instead of first de-duplicating it (a sort of every
        row: the largest single step of the load).
        """
        if self.dialect != "postgresql":
            return self._upsert_portable() if self.staged else 0
        if not self.staged and not self.direct:
            return 0
        return self._upsert_postgresql(keys_unique)

    def _params(self) -> dict[str, str]:
        r = self.resource
        non_key = [c for c in self.columns if c not in r.primary_key] or list(r.primary_key)
        return {
            "target": qualify("core", r.table, self.dialect),
            "staging": self.staging,
            "deduped": self.deduped,
            "columns": idents(self.columns),
            "primary_key": idents(r.primary_key),
            "batch_id": str(int(self.batch_id)),
            "key_match": " AND ".join(f"cur.{ident(k)} = s.{ident(k)}" for k in r.primary_key),
            "set_columns": ", ".join(f"{ident(c)} = excluded.{ident(c)}" for c in non_key),
            "current_columns": idents(non_key, "cur."),
            "excluded_columns": idents(non_key, "excluded."),
        }

    def _upsert_portable(self) -> int:
        """SQLite: one INSERT … ON CONFLICT DO UPDATE … WHERE changed (BEGIN IMMEDIATE serialises writers)."""
        p = self._params()
        last = (f"(SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY {p['primary_key']} ORDER BY _row DESC) "
                f"AS _rn FROM {self.staging}) AS v WHERE v._rn = 1)")
        self._guard_versions(p, last, self.staging)
        return self.conn.execute(text(sql_file("load/upsert.sql", self.dialect, **p))).rowcount

    def _key_text(self, alias: str) -> str:
        return " || '|' || ".join(f"COALESCE(CAST({alias}.{ident(k)} AS TEXT), '')" for k in self.resource.primary_key)

    def _guard_versions(self, p: dict[str, str], source: str, table: str) -> None:
        """The version guard (load/stale.sql): staged keys that core holds in a newer version are
        recorded in quality.stale_rows and removed from ``table`` before the upsert."""
        if self._no_stale_possible(p):
            return
        version = self.resource.version
        params = {**p, "source": source, "version": ident(version), "key_text": self._key_text("s")}
        self.stale += self.conn.execute(
            text(sql_file("load/stale.sql", self.dialect, **params)),
            {"department": self.resource.department, "resource": self.resource.name,
             "created_at": ts_param(utcnow(), self.dialect)}).rowcount
        if self.stale:
            self.conn.execute(text(sql_file("load/drop_stale.sql", self.dialect, staging=table,
                                            batch_id=p["batch_id"], key_text=self._key_text(table))))

    def _no_stale_possible(self, p: dict[str, str]) -> bool:
        """True when load/stale.sql provably finds nothing, so its join with core (as costly as
        the MERGE itself: 2.3 s of a 1M-row re-delivery) is skipped.

        That holds for a delivery (no replayed row) whose version field is part of the primary
        key while core holds no row of a batch opened after this one: a key match then means
        equal versions, and an equal version is stale only against a later batch. The caller
        holds the table's write lock, so no such row can appear before the upsert.
        """
        if self._replayed or self.resource.version not in self.resource.primary_key:
            return False
        later = f"SELECT 1 FROM {p['target']} WHERE _batch_id > {p['batch_id']} LIMIT 1"
        return self.conn.execute(text(later)).first() is None

    def _pg_settings(self) -> None:
        for name, value in PG_LOAD_SETTINGS.items():
            self.conn.execute(text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value})

    def _upsert_postgresql(self, keys_unique: bool) -> int:
        conn, p = self.conn, self._params()
        if self.direct:  # core was empty and holds the direct rows; its indexes are dropped
            self._insert_trigger("ENABLE")
            self._direct_counts.write(conn, self.batch_id)
            merged = self._merge(p, keys_unique) if self.staged else 0
            self._rebuild_indexes(p)
            return self.direct_rows + merged
        self._pg_settings()
        # Writers of this core table queue here until we commit (readers are not blocked), so
        # the MERGE and the emptiness test below cannot race with another load.
        conn.execute(text(f"LOCK TABLE {p['target']} IN SHARE ROW EXCLUSIVE MODE"))
        if self.staged >= FIRST_LOAD_MIN_ROWS and conn.execute(text(sql_file("load/is_empty.sql", self.dialect, **p)), {"target": p["target"]}).scalar_one():
            # Empty core table: building each index once is several times cheaper than
            # maintaining it row by row.
            conn.execute(text(f"LOCK TABLE {p['target']} IN ACCESS EXCLUSIVE MODE"))
            if self._drop_indexes(p):
                self.first_load = True
                merged = self._merge(p, keys_unique)
                self._rebuild_indexes(p)
                return merged
        return self._merge(p, keys_unique)

    def _merge(self, p: dict[str, str], keys_unique: bool) -> int:
        """Staged rows → core in one MERGE, after keeping the last version of each key unless they are unique."""
        self.deduplicated = not keys_unique
        if keys_unique:
            p = {**p, "deduped": self.staging}
        else:
            self._timed("dedup", "load/dedup.sql", p)
        self._guard_versions(p, p["deduped"], p["deduped"])
        self.conn.execute(text(f"ANALYZE {p['deduped']}"))  # temp tables are never auto-analysed
        # a table whose columns are all key has nothing to update: its WHEN MATCHED never fires
        non_key = [c for c in self.columns if c not in self.resource.primary_key] or list(self.resource.primary_key)
        return self._timed("merge", "load/merge.sql", {
            **p,
            "set_columns": ", ".join(f"{ident(c)} = s.{ident(c)}" for c in non_key),
            "new_columns": idents(non_key, "s."),
            "new_all": idents(self.columns, "s."),
        })

    def _timed(self, step: str, name: str, params: dict[str, str]) -> int:
        t0 = time.perf_counter()
        n = self.conn.execute(text(sql_file(name, self.dialect, **params))).rowcount
        log.debug("%s %s: %d rows in %.2f s", self.resource.key, step, n, time.perf_counter() - t0)
        return n

    def _start_direct(self) -> bool:
        """Direct first load: if core is empty, lock it, drop its indexes and COPY the delivery
        straight into it (no staging copy, no INSERT … SELECT); the indexes are rebuilt by upsert().

        Taken at the first batch, only while the checks vouch that no key repeats; a later
        batch that repeats a key goes to staging and is merged (last version wins) before the
        rebuild. The exclusive lock keeps readers of the (empty) table waiting until commit.
        """
        conn, p = self.conn, self._params()
        if not conn.execute(text(sql_file("load/is_empty.sql", self.dialect, **p)), {"target": p["target"]}).scalar_one():
            return False
        self._pg_settings()
        conn.execute(text(f"LOCK TABLE {p['target']} IN ACCESS EXCLUSIVE MODE"))
        if not conn.execute(text(sql_file("load/is_empty.sql", self.dialect, **p)), {"target": p["target"]}).scalar_one():
            return False  # another load got there first; we hold its lock now, the normal path follows
        if not self._drop_indexes(p):
            return False
        self._insert_trigger("DISABLE")  # the rows are counted here instead (SecondCounter)
        self.first_load = True
        log.debug("%s: direct first load into the empty core table", self.resource.key)
        return True

    def _insert_trigger(self, action: str) -> None:
        """Switch the core table's event-count insert trigger (owner only; we hold its exclusive lock)."""
        target = qualify("core", self.resource.table, self.dialect)
        self.conn.execute(text(f"ALTER TABLE {target} {action} TRIGGER {trigger_name(self.resource)}_ins"))

    def _drop_indexes(self, p: dict[str, str]) -> bool:
        """Drop the core table's indexes, remembering them (read from the catalog, so any index
        someone adds is kept); False (nothing dropped) when foreign keys or unusual constraints
        depend on them."""
        conn = self.conn
        indexes = conn.execute(text(sql_file("load/target_indexes.sql", self.dialect)), {"target": p["target"]}).all()
        if any(ix.fk_refs or (ix.constraint_type not in (None, "p", "u")) for ix in indexes):
            return False
        for ix in indexes:
            if ix.constraint_name:
                conn.execute(text(f'ALTER TABLE {p["target"]} DROP CONSTRAINT "{ix.constraint_name}"'))
            else:
                conn.execute(text(f"DROP INDEX {ix.index_name}"))
        self._indexes = indexes
        return True

    def _rebuild_indexes(self, p: dict[str, str]) -> None:
        """Recreate the dropped indexes exactly as they were and analyse the table."""
        conn = self.conn
        t0 = time.perf_counter()
        for ix in self._indexes:
            if ix.constraint_name:
                conn.execute(text(f'ALTER TABLE {p["target"]} ADD CONSTRAINT "{ix.constraint_name}" {ix.constraint_def}'))
            else:
                conn.execute(text(ix.index_def))
        conn.execute(text(f"ANALYZE {p['target']}"))  # the next load plans its joins on real numbers
        log.debug("%s first load: %d indexes rebuilt and analysed in %.2f s", self.resource.key, len(self._indexes),
                  time.perf_counter() - t0)

    def _drop_staging(self) -> None:
        self.conn.execute(text(f"DROP TABLE IF EXISTS {self.staging}"))
        self.conn.execute(text(f"DROP TABLE IF EXISTS {self.deduped}"))

    def close(self, *, status: str, rows_read: int, rows_loaded: int, rows_quarantined: int,
              rows_duplicate: int, reason: str | None, rows_stale: int = 0) -> dt.datetime:
        """Write the audit row last, stamping t_landed as close to COMMIT as we can."""
        t_landed = utcnow()
        self.conn.execute(
            text(sql_file("audit/close_batch.sql", self.dialect)),
            {"batch_id": self.batch_id, "status": status, "rows_read": rows_read, "rows_loaded": rows_loaded,
             "rows_quarantined": rows_quarantined, "rows_duplicate": rows_duplicate, "rows_stale": rows_stale,
             "reason": reason, "t_landed": ts_param(t_landed, self.dialect)},
        )
        self._drop_staging()
        return t_landed
