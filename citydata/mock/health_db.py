"""The health department's own database (`citydata mock-db`): e-health-card visits that keep arriving.

A separate database from the warehouse: PostgreSQL when CITYDATA_MOCK_DB_URL points at one,
else an SQLite file $CITYDATA_HOME/mock/health.db. Tables `card_visits` and `institutions`
carry the registry's fields, `updated_at` included (indexed): the pull connector reads
them incrementally by that column.

Each step inserts the visits since the last step (by weekday and hour) and makes late
corrections to a few recent visits (a patient admitted after an outpatient visit, a phone
number filled in, a misspelt name fixed), stamping updated_at with the correction time, as
hospital information systems do. Restarting continues the same database.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import threading

from sqlalchemy import Column, Engine, Index, MetaData, String, Table, TypeDecorator, create_engine, event, func, select

from citydata.config import settings
from citydata.mock import generators, model
from citydata.mock.ids import make_phone
from citydata.mock.names import person_name
from citydata.warehouse.db import normalise_url

UTC = dt.UTC


class UTCDateTime(TypeDecorator):
    """TIMESTAMPTZ on PostgreSQL; fixed-width UTC ISO text on SQLite (sorts and compares correctly)."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect):  # noqa: ANN001, ANN201
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import TIMESTAMP

            return dialect.type_descriptor(TIMESTAMP(timezone=True))
        return dialect.type_descriptor(String(40))

    def process_bind_param(self, value, dialect):  # noqa: ANN001, ANN201
        if value is None or dialect.name == "postgresql":
            return value
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00:00")

    def process_result_value(self, value, dialect):  # noqa: ANN001, ANN201
        if value is None or isinstance(value, dt.datetime):
            return value
        return dt.datetime.fromisoformat(value)


metadata = MetaData()
institutions = Table(
    "institutions", metadata,
    Column("institution_id", String(20), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("level", String(20), nullable=False),
    Column("district", String(20), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False, index=True),
)
card_visits = Table(
    "card_visits", metadata,
    Column("visit_id", String(32), primary_key=True),
    Column("citizen_id", String(18), nullable=False),
    Column("patient_name", String(40), nullable=False),
    Column("phone", String(20)),
    Column("institution_id", String(20), nullable=False),
    Column("visit_type", String(20), nullable=False),
    Column("visit_time", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
Index("card_visits_updated_at", card_visits.c.updated_at, card_visits.c.visit_id)


def default_url() -> str:
    url = os.environ.get("CITYDATA_MOCK_DB_URL")
    if url:
        return normalise_url(url)
    path = settings().home / "mock" / "health.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _wal(dbapi_conn, _record) -> None:  # noqa: ANN001
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class HealthDB:
    """The department's database and its activity: seed, then step() appends and corrects."""

    def __init__(self, url: str | None = None, seed: int = 0, *, visits_per_hour: float = 60.0,
                 correction_share: float = 0.05) -> None:
        self.url = normalise_url(url or default_url())
        self.seed = seed
        self.rng = random.Random(f"{seed}:health-db")
        self.visits_per_hour, self.correction_share = visits_per_hour, correction_share
        self.engine: Engine = create_engine(self.url, pool_pre_ping=True)
        if self.url.startswith("sqlite"):
            event.listen(self.engine, "connect", _wal)
        self.seen: set[str] = set()
        self.counter = 0
        self.clock: dt.datetime | None = None

    def setup(self, now: dt.datetime | None = None, backfill_hours: float = 24.0) -> dict:
        """Create the tables; on an empty database add the institutions and a backfill of visits."""
        now = (now or dt.datetime.now(UTC)).astimezone(UTC)
        metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            if not conn.execute(select(func.count()).select_from(institutions)).scalar_one():
                rows = generators.institutions_rows(generators.ACTIVE_INSTITUTIONS + 12, self.seed, now)
                conn.execute(institutions.insert(), rows)
            latest = conn.execute(select(func.max(card_visits.c.visit_time))).scalar()
            self.seen = set(conn.execute(select(card_visits.c.visit_id)).scalars())
        self.counter = len(self.seen)
        self.clock = latest if latest else now - dt.timedelta(hours=backfill_hours)
        return self.step(now, backfill=True)

    def step(self, now: dt.datetime | None = None, backfill: bool = False) -> dict:
        """Insert the visits since the last step; correct a few recent ones. Returns counts.

        Live rows are stamped updated_at = the write time (as a hospital system does), so a
        row never appears behind a watermark already read; backfilled history keeps the
        minutes-after-the-visit stamps it had.
        """
        now = (now or dt.datetime.now(UTC)).astimezone(UTC)
        if self.clock is None:
            self.clock = now
        new: list[dict] = []
        t = self.clock
        while t < now:
            end = min(now, t + dt.timedelta(minutes=10))
            expected = self.visits_per_hour * model.visit_weight(t) * (end - t).total_seconds() / 3600
            n = int(expected) + (self.rng.random() < expected - int(expected))
            for _ in range(n):
                vt = (t + (end - t) * self.rng.random()).replace(microsecond=0)
                rec = generators.visit_record(self.seed, self.rng, vt, self.counter, now, self.seen)
                if not backfill:
                    rec["updated_at"] = now
                self.counter += 1
                new.append(rec)
            t = end
        self.clock = now
        corrected = 0
        with self.engine.begin() as conn:
            if new:
                conn.execute(card_visits.insert(), new)
            if not backfill:
                corrected = self._correct(conn, now, len(new))
        return {"inserted": len(new), "corrected": corrected}

    def _correct(self, conn, now: dt.datetime, inserted: int) -> int:  # noqa: ANN001
        k = max(1, round(inserted * self.correction_share))  # at least one late correction per step
        recent = conn.execute(
            select(card_visits.c.visit_id, card_visits.c.visit_type, card_visits.c.phone, card_visits.c.patient_name,
                   card_visits.c.citizen_id)
            .where(card_visits.c.visit_time >= now - dt.timedelta(hours=48))
            .order_by(card_visits.c.visit_id)
        ).all()
        for row in self.rng.sample(recent, min(k, len(recent))):
            change: dict = {"updated_at": now}
            if row.visit_type == "outpatient" and self.rng.random() < 0.5:
                change["visit_type"] = "inpatient"  # admitted after the consultation
            elif row.phone is None:
                change["phone"] = make_phone(self.rng)
            else:
                male = int(row.citizen_id[16]) % 2 == 1
                change["patient_name"] = person_name(self.rng, male)  # name keyed in wrongly, fixed
            conn.execute(card_visits.update().where(card_visits.c.visit_id == row.visit_id).values(**change))
        return min(k, len(recent))

    def run(self, stop: threading.Event, interval: float = 5.0) -> None:
        """Keep stepping until `stop` is set (a thread in `citydata demo`, the foreground in the CLI)."""
        while not stop.wait(interval):
            self.step()

    def dispose(self) -> None:
        self.engine.dispose()
