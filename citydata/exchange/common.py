"""Small helpers the exchange modules share: resource lookup by code, times, typed values."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlalchemy import Connection, text

from citydata.domain.time import LOCAL_TZ
from citydata.errors import CitydataError
from citydata.registry import Registry, Resource
from citydata.warehouse.db import sql_file

__all__ = ["NotFound", "Refused", "as_utc", "canonical_key", "digest", "find_resource", "now_param", "one",
           "rows", "sql", "ts_param", "utcnow", "value_text"]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ts_param(value: dt.datetime, dialect: str) -> dt.datetime | str:
    """As citydata.warehouse.load.ts_param (datetimes on PostgreSQL, sortable UTC text on SQLite),
    without importing the load path (pandas) into the API server."""
    value = value.astimezone(dt.UTC)
    return value if dialect == "postgresql" else value.strftime("%Y-%m-%d %H:%M:%S.%f+00:00")


class NotFound(CitydataError):
    """An unknown consumer, resource, request or objection (API: 404; CLI: exit 1)."""


class Refused(CitydataError):
    """A request the state machine or the rules do not allow (API: 409/422; CLI: exit 1)."""


def find_resource(registry: Registry, code: str) -> Resource:
    """A resource by its catalogue code (371321-SW-0001) or as department.resource."""
    for r in registry.resources:
        if code in (r.code, r.key):
            return r
    raise NotFound(f"unknown resource {code!r} (registry {registry.path})")


def as_utc(value: object) -> dt.datetime | None:
    """Timestamps come back as datetimes (PostgreSQL) or ISO text (SQLite)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        t = value
    else:
        t = dt.datetime.fromisoformat(str(value))
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def now_param(conn: Connection, now: dt.datetime | None = None) -> object:
    return ts_param(now or utcnow(), conn.dialect.name)


def sql(conn: Connection, name: str, **params: str) -> object:
    return text(sql_file(f"exchange/{name}", conn.dialect.name, **params))


def rows(conn: Connection, name: str, binds: dict | None = None, **params: str) -> list[dict]:
    return [dict(r) for r in conn.execute(sql(conn, name, **params), binds or {}).mappings()]


def one(conn: Connection, name: str, binds: dict | None = None, **params: str) -> dict | None:
    got = rows(conn, name, binds, **params)
    return got[0] if got else None


def value_text(kind: str, value: object) -> str | None:
    """A value in one canonical text form, whichever backend returned it (timestamps: UTC ISO)."""
    if value is None:
        return None
    if kind == "timestamp":
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=LOCAL_TZ)  # as departments write times
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if kind == "date":
        return (value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))).isoformat()
    if kind == "integer":
        return str(int(value))
    if kind == "float":
        return repr(float(value))
    if kind == "boolean":
        return "true" if value in (True, 1, "1", "true", "t", "True") else "false"
    return str(value)


def canonical_key(resource: Resource, key: dict) -> str:
    """The primary key of a row as canonical JSON text (what objections store and compare)."""
    missing = [k for k in resource.primary_key if k not in key or key[k] in (None, "")]
    if missing:
        raise Refused(f"resource {resource.code}: row key lacks {', '.join(missing)}")
    try:
        return json.dumps([value_text(resource.field(k).type, key[k]) for k in resource.primary_key],
                          ensure_ascii=False)
    except (TypeError, ValueError):
        raise Refused(f"resource {resource.code}: row key has a value of the wrong type") from None


def key_binds(resource: Resource, canonical: str, dialect: str, prefix: str = "k") -> dict:
    """Bound parameters (k0, k1, …) for a canonical key, typed for the backend."""
    out = {}
    for i, (name, value) in enumerate(zip(resource.primary_key, json.loads(canonical), strict=True)):
        kind = resource.field(name).type
        out[f"{prefix}{i}"] = bind_value(kind, value, dialect)
    return out


def bind_value(kind: str, value: str | None, dialect: str) -> object:
    if value is None:
        return None
    if kind == "timestamp":
        return ts_param(dt.datetime.fromisoformat(value), dialect)
    if kind == "date":
        return dt.date.fromisoformat(value) if dialect == "postgresql" else value
    if kind == "integer":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "boolean":
        return value == "true" if dialect == "postgresql" else int(value == "true")
    return value


def digest(kind: str, value: object) -> str:
    """SHA-256 of a value's canonical text: compares values without keeping them."""
    return hashlib.sha256(("\x00" if value is None else "v" + str(value_text(kind, value))).encode()).hexdigest()
