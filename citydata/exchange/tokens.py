"""Consumers of the sharing API and their bearer tokens (shown once, stored only as SHA-256).

A token is 32 random bytes (secrets.token_urlsafe), so a plain SHA-256 is enough to keep it
from being recovered from the table (no dictionary to try); lookups are by that hash.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import Connection

from citydata.errors import CitydataError
from citydata.exchange.common import NotFound, Refused, now_param, one, rows, sql
from citydata.registry import IDENT

PREFIX = "cdx_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(consumer: str) -> str:
    if not IDENT.match(consumer or ""):
        raise CitydataError(f"consumer {consumer!r} is not a valid identifier (lower-case letters, digits, _)")
    return consumer


def add_consumer(conn: Connection, consumer: str, rotate: bool = False) -> dict:
    """Issue a token; an active consumer gets a new one only with rotate (the old one stops working)."""
    check_name(consumer)
    existing = one(conn, "consumer_get.sql", {"consumer": consumer})
    if existing and existing["status"] == "active" and not rotate:
        raise Refused(f"consumer {consumer} already has a token (use --rotate to replace it)")
    token = PREFIX + secrets.token_urlsafe(32)
    conn.execute(sql(conn, "consumer_insert.sql"),
                 {"consumer": consumer, "token_hash": token_hash(token), "now": now_param(conn)})
    return {"consumer": consumer, "token": token}


def revoke_consumer(conn: Connection, consumer: str) -> None:
    if conn.execute(sql(conn, "consumer_revoke.sql"), {"consumer": consumer, "now": now_param(conn)}).rowcount == 0:
        got = one(conn, "consumer_get.sql", {"consumer": consumer})
        raise NotFound(f"unknown consumer {consumer!r}" if got is None else f"consumer {consumer} is already revoked")


def list_consumers(conn: Connection) -> list[dict]:
    return rows(conn, "consumer_list.sql")


def consumer_for(conn: Connection, token: str | None) -> str | None:
    """The active consumer owning a token, or None (no, unknown or revoked token)."""
    if not token:
        return None
    got = one(conn, "consumer_by_token.sql", {"token_hash": token_hash(token)})
    return got["consumer"] if got else None


def known_consumer(conn: Connection, consumer: str) -> bool:
    return one(conn, "consumer_get.sql", {"consumer": consumer}) is not None
