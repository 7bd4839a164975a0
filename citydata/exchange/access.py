"""Requests and approvals (供需对接): who may read a conditionally shared resource.

State machine (docs/exchange.md)::

    submitted --review--> reviewed --approve--> approved --revoke--> revoked
        |                    |
        +------approve-------+ (the data office and the provider may decide together)
        +--reject (reason)---+--> rejected

The registry's ``consumers:`` lists become approved requests (source 'registry') when the
schema is ensured, so this table alone decides access, for the API and for PostgreSQL roles
alike. Due dates: data office review within 2 working days of submission, the provider's
answer within 5 working days of the review (citydata.exchange.workdays).
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from citydata.exchange import mail
from citydata.exchange.common import NotFound, Refused, as_utc, find_resource, one, rows, sql, ts_param, utcnow
from citydata.exchange.grants import grant_consumers, grants
from citydata.exchange.tokens import check_name, known_consumer
from citydata.exchange.workdays import ANSWER_DAYS, REVIEW_DAYS, due_after
from citydata.registry import Registry, Resource
from citydata.share.roles import _create_role, consumer_role, join_reader
from citydata.share.tables import share_table
from citydata.warehouse.db import idents

log = logging.getLogger(__name__)
OPEN = ("submitted", "reviewed")
ALL_FIELDS = None  # an approved request without a field list grants every field


def _shape(r: dict) -> dict:
    out = dict(r)
    out["fields"] = json.loads(r["fields"]) if r.get("fields") else None
    for k in ("submitted_at", "review_due_at", "reviewed_at", "answer_due_at", "decided_at", "revoked_at"):
        out[k] = as_utc(r.get(k))
    return out


def get_request(conn: Connection, request_id: int) -> dict:
    got = one(conn, "request_get.sql", {"request_id": int(request_id)})
    if got is None:
        raise NotFound(f"unknown access request {request_id}")
    return _shape(got)


def list_requests(conn: Connection, consumer: str | None = None, status: str | None = None,
                  resource: Resource | None = None) -> list[dict]:
    return [_shape(r) for r in rows(conn, "request_list.sql", {
        "consumer": consumer, "status": status, "department": resource.department if resource else None,
        "resource": resource.name if resource else None})]


def _insert(conn: Connection, resource: Resource, consumer: str, *, fields: list[str] | None, purpose: str,
            legal_basis: str | None, source: str, status: str, now: dt.datetime, reason: str | None = None) -> int:
    d = conn.dialect.name
    review_due = due_after(now, REVIEW_DAYS)
    decided = now if status == "approved" else None
    return int(conn.execute(sql(conn, "request_insert.sql"), {
        "consumer": consumer, "department": resource.department, "resource": resource.name, "code": resource.code,
        "fields": json.dumps(fields, ensure_ascii=False) if fields else None, "purpose": purpose,
        "legal_basis": legal_basis, "source": source, "status": status, "submitted_at": ts_param(now, d),
        "review_due_at": ts_param(review_due, d), "reviewed_at": ts_param(now, d) if decided else None,
        "answer_due_at": ts_param(due_after(review_due, ANSWER_DAYS), d),
        "decided_at": ts_param(decided, d) if decided else None, "reason": reason}).scalar_one())


def request_access(conn: Connection, registry: Registry, consumer: str, code: str, purpose: str, *,
                   legal_basis: str | None = None, fields: list[str] | None = None, source: str = "cli",
                   now: dt.datetime | None = None) -> dict:
    """File a request for a 有条件共享 resource and email the provider's owners (in the same transaction)."""
    check_name(consumer)
    if consumer not in registry.consumers and not known_consumer(conn, consumer):
        raise NotFound(f"unknown consumer {consumer!r} (add it with: citydata consumer add {consumer})")
    resource = find_resource(registry, code)
    if resource.sharing_type == "不予共享":
        raise Refused(f"resource {resource.code} is 不予共享 (not shared): no request can open it")
    if resource.sharing_type == "无条件共享":
        raise Refused(f"resource {resource.code} is 无条件共享 (unconditional): every consumer may read it already")
    if not (purpose or "").strip():
        raise Refused("a request needs a purpose")
    names = [f.name for f in resource.fields]
    unknown = [f for f in fields or () if f not in names]
    if unknown:
        raise Refused(f"resource {resource.code}: unknown field(s) {', '.join(unknown)}")
    now = now or utcnow()
    request_id = _insert(conn, resource, consumer, fields=sorted(set(fields)) if fields else None,
                         purpose=purpose.strip(), legal_basis=(legal_basis or "").strip() or None, source=source,
                         status="submitted", now=now)
    req = get_request(conn, request_id)
    mail.store(conn, mail.request_messages(registry, resource, req, now), resource.department)
    return req


def _transition(conn: Connection, request_id: int, old: tuple[str, ...], new: str, now: dt.datetime,
                reason: str | None = None) -> dict:
    req = get_request(conn, request_id)
    if req["status"] not in old:
        raise Refused(f"access request {request_id} is {req['status']}: cannot become {new}")
    d = conn.dialect.name
    stamps = {"reviewed_at": None, "answer_due_at": None, "decided_at": None, "revoked_at": None}
    if new == "reviewed":
        stamps["reviewed_at"] = ts_param(now, d)
        stamps["answer_due_at"] = ts_param(due_after(now, ANSWER_DAYS), d)
    elif new in ("approved", "rejected"):
        stamps["decided_at"] = ts_param(now, d)
        if req["reviewed_at"] is None:
            stamps["reviewed_at"] = ts_param(now, d)
    elif new == "revoked":
        stamps["revoked_at"] = ts_param(now, d)
    n = conn.execute(sql(conn, "request_set_status.sql"), {
        "request_id": int(request_id), "old_status": req["status"], "new_status": new, "reason": reason,
        **stamps}).rowcount
    if n != 1:
        raise Refused(f"access request {request_id} changed meanwhile; try again")
    return get_request(conn, request_id)


def review(conn: Connection, request_id: int, now: dt.datetime | None = None) -> dict:
    """The data office reviewed the request and forwards it to the provider (5 working days to answer)."""
    return _transition(conn, request_id, ("submitted",), "reviewed", now or utcnow())


def approve(conn: Connection, registry: Registry, request_id: int, reason: str | None = None,
            now: dt.datetime | None = None) -> dict:
    """Approve: the API and the consumer's PostgreSQL role open for the resource."""
    req = _transition(conn, request_id, OPEN, "approved", now or utcnow(), reason)
    sync_grants(conn, registry, find_resource(registry, req["code"]))
    return req


def reject(conn: Connection, request_id: int, reason: str, now: dt.datetime | None = None) -> dict:
    if not (reason or "").strip():
        raise Refused("a rejection needs a reason (--reason)")
    return _transition(conn, request_id, OPEN, "rejected", now or utcnow(), reason.strip())


def revoke(conn: Connection, registry: Registry, request_id: int, reason: str | None = None,
           now: dt.datetime | None = None) -> dict:
    """Revoke an approval: the API refuses (403) and the PostgreSQL grant goes, in one transaction."""
    req = _transition(conn, request_id, ("approved",), "revoked", now or utcnow(), reason)
    sync_grants(conn, registry, find_resource(registry, req["code"]))
    return req


def approved_fields(conn: Connection, resource: Resource, consumer: str) -> set[str] | None | bool:
    """What an approved request lets a consumer read: False (nothing), None (every field) or a field set."""
    got = rows(conn, "request_approved.sql", {"department": resource.department, "resource": resource.name,
                                              "consumer": consumer})
    if not got:
        return False
    fields: set[str] = set()
    for r in got:
        if not r["fields"]:
            return ALL_FIELDS
        fields |= set(json.loads(r["fields"]))
    return fields | set(resource.primary_key)


def may_read(conn: Connection, resource: Resource, consumer: str) -> tuple[bool, set[str] | None]:
    """(allowed, fields): 不予共享 never; 无条件共享 always, every field; 有条件共享 with an approved request."""
    if resource.sharing_type == "不予共享":
        return False, None
    if resource.sharing_type == "无条件共享":
        return True, None
    fields = approved_fields(conn, resource, consumer)
    return (False, None) if fields is False else (True, fields)


def seed_registry(conn: Connection, registry: Registry, now: dt.datetime | None = None) -> None:
    """Registry consumers become approved requests once; a consumer dropped from the registry is revoked.

    A registry approval revoked by hand stays revoked (the seed never re-creates it).
    """
    now = now or utcnow()
    existing = {(r["consumer"], r["department"], r["resource"]): r for r in rows(conn, "request_registry.sql")}
    wanted = set()
    for res in registry.resources:
        if res.sharing_type != "有条件共享":
            continue
        for consumer in res.consumers:
            wanted.add((consumer, res.department, res.name))
            if (consumer, res.department, res.name) not in existing:
                _insert(conn, res, consumer, fields=None, purpose="登记簿预先批准（registry consumers）",
                        legal_basis="include/departments.yaml", source="registry", status="approved", now=now)
    for key, r in existing.items():
        if key not in wanted and r["status"] == "approved":
            _transition(conn, int(r["request_id"]), ("approved",), "revoked", now, "removed from the registry")


def sync_grants(conn: Connection, registry: Registry, resource: Resource) -> None:
    """PostgreSQL: the consumer roles' SELECT on one conditional share table = its approved requests."""
    if conn.dialect.name != "postgresql" or resource.sharing_type != "有条件共享":
        return
    table = share_table(resource, "postgresql")
    try:
        with conn.begin_nested():
            conn.execute(text("SELECT pg_advisory_xact_lock(7160322)"))
            for consumer in sorted(set(registry.consumers) | grant_consumers(conn)):
                role = consumer_role(consumer)
                _create_role(conn, role)
                join_reader(conn, role)
                conn.execute(text(f"REVOKE ALL ON {table} FROM {role}"))
            for consumer, cols in grants(conn, resource):
                what = "SELECT" if cols is None else f"SELECT ({idents(cols)})"
                conn.execute(text(f"GRANT {what} ON {table} TO {consumer_role(consumer)}"))
    except DBAPIError as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        log.warning("grants of %s not changed (%s): run 'citydata setup-roles' as a database administrator",
                    resource.code, first)


def overdue(conn: Connection, now: dt.datetime | None = None) -> list[dict]:
    """Open requests past their due date, with the stage that is late (review or answer)."""
    now = now or utcnow()
    out = []
    for r in list_requests(conn):
        if r["status"] == "submitted" and r["review_due_at"] < now:
            out.append({**r, "overdue_stage": "review", "due_at": r["review_due_at"]})
        elif r["status"] in OPEN and r["answer_due_at"] < now:
            out.append({**r, "overdue_stage": "answer", "due_at": r["answer_due_at"]})
    return sorted(out, key=lambda r: r["request_id"])
