"""Objections to shared values (异议处理).

States (docs/exchange.md)::

    open --accept--> accepted --correction--> corrected
    open --correction--> corrected
    open/accepted --reject (reason)--> rejected

A correction is a later load (re-delivery or quarantine replay) that changes the disputed core
value: publication calls close_corrected, which compares the value's SHA-256 with the one taken
when the objection was raised (the value itself is never stored or quoted). While an objection
is open or accepted, its row is marked ``_disputed`` in every format the API serves.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import Connection, text

from citydata.exchange import mail
from citydata.exchange.access import may_read
from citydata.exchange.common import (
    NotFound,
    Refused,
    as_utc,
    canonical_key,
    digest,
    find_resource,
    key_binds,
    one,
    rows,
    sql,
    ts_param,
    utcnow,
)
from citydata.registry import Registry, Resource
from citydata.warehouse.db import ident, idents, qualify, sql_file

UNRESOLVED = ("open", "accepted")


def _shape(r: dict) -> dict:
    out = dict(r)
    out["row_key"] = json.loads(r["row_key"])
    for k in ("raised_at", "accepted_at", "resolved_at"):
        out[k] = as_utc(r.get(k))
    return out


def _row(conn: Connection, layer: str, resource: Resource, canonical: str, select: str) -> dict | None:
    d = conn.dialect.name
    binds = key_binds(resource, canonical, d)
    q = sql_file("exchange/row_by_key.sql", d, select=select, table=qualify(layer, resource.table, d),
                 primary_key=idents(resource.primary_key), binds=", ".join(f":{k}" for k in binds))
    got = conn.execute(text(q), binds).mappings().first()
    return dict(got) if got else None


def _core_digest(conn: Connection, resource: Resource, canonical: str, field: str) -> tuple[str | None, int | None]:
    got = _row(conn, "core", resource, canonical, f"{ident(field)} AS value, _batch_id")
    if got is None:
        return None, None
    return digest(resource.field(field).type, got["value"]), int(got["_batch_id"])


def get_objection(conn: Connection, objection_id: int) -> dict:
    got = one(conn, "objection_get.sql", {"objection_id": int(objection_id)})
    if got is None:
        raise NotFound(f"unknown objection {objection_id}")
    return _shape(got)


def list_objections(conn: Connection, consumer: str | None = None, status: str | None = None,
                    resource: Resource | None = None) -> list[dict]:
    return [_shape(r) for r in rows(conn, "objection_list.sql", {
        "consumer": consumer, "status": status, "department": resource.department if resource else None,
        "resource": resource.name if resource else None})]


def disputed_keys(conn: Connection, resource: Resource) -> set[str]:
    """Canonical keys of the resource's rows with an unresolved objection (marked _disputed)."""
    return {r["row_key"] for r in rows(conn, "objection_unresolved.sql",
                                       {"department": resource.department, "resource": resource.name})}


def raise_objection(conn: Connection, registry: Registry, consumer: str, code: str, row_key: dict, field: str,
                    reason: str, now: dt.datetime | None = None) -> dict:
    """Record an objection of a consumer who may read the row's field, and email the owners."""
    resource = find_resource(registry, code)
    allowed, fields = may_read(conn, resource, consumer)
    if not allowed:
        raise Refused(f"consumer {consumer} may not read resource {resource.code}")
    if field not in [f.name for f in resource.fields] or (fields is not None and field not in fields):
        raise Refused(f"resource {resource.code}: unknown field {field!r}")
    if not (reason or "").strip():
        raise Refused("an objection needs a reason")
    if not isinstance(row_key, dict):
        raise Refused("row key must be an object of primary-key fields")
    canonical = canonical_key(resource, row_key)
    if _row(conn, "share", resource, canonical, idents(resource.primary_key)) is None:
        raise NotFound(f"resource {resource.code}: no shared row with key {canonical}")
    value_digest, _ = _core_digest(conn, resource, canonical, field)
    now = now or utcnow()
    objection_id = int(conn.execute(sql(conn, "objection_insert.sql"), {
        "consumer": consumer, "department": resource.department, "resource": resource.name, "code": resource.code,
        "row_key": canonical, "field": field, "reason": reason.strip(), "value_digest": value_digest,
        "raised_at": ts_param(now, conn.dialect.name)}).scalar_one())
    obj = get_objection(conn, objection_id)
    msgs = mail.objection_messages(registry, resource, {**obj, "row_key_text": _key_text(resource, canonical)}, now)
    mail.store(conn, msgs, resource.department)
    return obj


def _key_text(resource: Resource, canonical: str) -> str:
    """The key as `field=value` pairs for emails; a sensitive key field is masked like everywhere else."""
    from citydata.domain.masking import mask_value

    values = json.loads(canonical)
    return ", ".join(f"{k}={mask_value(v, resource.field(k).sensitive)}"
                     for k, v in zip(resource.primary_key, values, strict=True))


def _set(conn: Connection, obj: dict, new: str, now: dt.datetime, resolution: str | None = None,
         batch: int | None = None) -> dict:
    d = conn.dialect.name
    n = conn.execute(sql(conn, "objection_set.sql"), {
        "objection_id": obj["objection_id"], "old_status": obj["status"], "new_status": new,
        "accepted_at": ts_param(now, d) if new == "accepted" else None,
        "resolved_at": ts_param(now, d) if new in ("corrected", "rejected") else None,
        "resolution": resolution, "closed_by_batch": batch}).rowcount
    if n != 1:
        raise Refused(f"objection {obj['objection_id']} changed meanwhile; try again")
    return get_objection(conn, obj["objection_id"])


def resolve(conn: Connection, objection_id: int, *, accept: bool, reason: str | None,
            now: dt.datetime | None = None) -> dict:
    """The owner's answer: accept (the value is wrong; a correction will close it) or reject with a reason."""
    obj = get_objection(conn, objection_id)
    now = now or utcnow()
    if accept:
        if obj["status"] != "open":
            raise Refused(f"objection {objection_id} is {obj['status']}: only an open one can be accepted")
        return _set(conn, obj, "accepted", now, (reason or "").strip() or None)
    if not (reason or "").strip():
        raise Refused("rejecting an objection needs a reason (--reason)")
    if obj["status"] not in UNRESOLVED:
        raise Refused(f"objection {objection_id} is {obj['status']}: it is closed already")
    return _set(conn, obj, "rejected", now, reason.strip())


def close_corrected(conn: Connection, resource: Resource, batch_id: int | None = None,
                    now: dt.datetime | None = None) -> list[int]:
    """Close every unresolved objection whose disputed core value changed (called on publication).

    Publication runs as the loading role, which sees only an objection's key, field, digest and
    status (never the consumer or the reason): hence objection_close.sql, not the owner's _set.
    One the owner answered meanwhile is closed already and is skipped.
    """
    unresolved = rows(conn, "objection_unresolved.sql", {"department": resource.department, "resource": resource.name})
    closed = []
    for r in unresolved:
        current, row_batch = _core_digest(conn, resource, r["row_key"], r["field"])
        if current != r["value_digest"]:
            n = conn.execute(sql(conn, "objection_close.sql"), {
                "objection_id": r["objection_id"], "resolved_at": ts_param(now or utcnow(), conn.dialect.name),
                "resolution": "corrected by a later delivery",
                "closed_by_batch": row_batch if row_batch is not None else batch_id}).rowcount
            if n == 1:
                closed.append(int(r["objection_id"]))
    return closed
