"""`citydata` subcommands of the exchange: share-api, consumer, access, objection, access-log, catalog."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from citydata.errors import CitydataError

Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


def _out(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def _ctx():  # noqa: ANN202
    from citydata.bootstrap import ensure_schema
    from citydata.config import settings
    from citydata.registry import load_registry

    registry, url = load_registry(), settings().warehouse_url
    ensure_schema(registry, url)
    return registry, url


def _table(rows: list[dict], cols: list[str]) -> None:
    from citydata.render.table import render_table

    print(render_table(cols, [["" if r.get(c) is None else r.get(c) for c in cols] for r in rows]))


def cmd_share_api(args: argparse.Namespace) -> int:
    from citydata.exchange.api import serve

    return serve(args.host, args.port)


def cmd_consumer(args: argparse.Namespace) -> int:
    from citydata.exchange import tokens
    from citydata.warehouse.db import transaction

    _, url = _ctx()
    with transaction(url) as conn:
        if args.action == "add":
            got = tokens.add_consumer(conn, args.consumer, rotate=args.rotate)
        elif args.action == "revoke":
            tokens.revoke_consumer(conn, args.consumer)
            got = {"consumer": args.consumer, "status": "revoked"}
        else:
            got = tokens.list_consumers(conn)
    if args.action == "list":
        _out(got) if args.json else _table(got, ["consumer", "status", "created_at", "revoked_at"])
    elif args.action == "add":
        if args.json:
            _out(got)
        else:
            print(f"consumer {got['consumer']}: token (shown once, keep it secret):\n{got['token']}")
    else:
        _out(got) if args.json else print(f"consumer {args.consumer}: token revoked")
    return 0


REQUEST_COLS = ["request_id", "consumer", "code", "status", "source", "purpose", "submitted_at", "review_due_at",
                "answer_due_at", "reason"]


def cmd_access(args: argparse.Namespace) -> int:
    from citydata.exchange import access, mail
    from citydata.exchange.common import find_resource
    from citydata.warehouse.db import transaction

    registry, url = _ctx()
    with transaction(url) as conn:
        if args.action == "request":
            got = access.request_access(conn, registry, args.consumer, args.resource, args.purpose,
                                        legal_basis=args.legal_basis, fields=args.field, source="cli")
        elif args.action == "review":
            got = access.review(conn, args.id)
        elif args.action == "approve":
            got = access.approve(conn, registry, args.id, args.reason)
        elif args.action == "reject":
            got = access.reject(conn, args.id, args.reason)
        elif args.action == "revoke":
            got = access.revoke(conn, registry, args.id, args.reason)
        elif args.overdue:
            got = access.overdue(conn)
        else:
            res = find_resource(registry, args.resource) if args.resource else None
            got = access.list_requests(conn, consumer=args.consumer, status=args.status, resource=res)
    if args.action == "request":
        mail.deliver_now(url)
    if args.action == "list":
        _out(got) if args.json else _table(got, REQUEST_COLS)
    else:
        _out(got) if args.json else print(f"access request {got['request_id']}: {got['status']}")
    return 0


def _key(pairs: list[str]) -> dict:
    out = {}
    for p in pairs:
        name, sep, value = p.partition("=")
        if not sep or not name:
            raise CitydataError(f"--key {p!r}: expected FIELD=VALUE")
        out[name] = value
    return out


OBJECTION_COLS = ["objection_id", "consumer", "code", "row_key", "field", "status", "raised_at", "resolved_at",
                  "resolution"]


def cmd_objection(args: argparse.Namespace) -> int:
    from citydata.exchange import mail, objections
    from citydata.exchange.common import find_resource
    from citydata.warehouse.db import transaction

    registry, url = _ctx()
    with transaction(url) as conn:
        if args.action == "raise":
            got = objections.raise_objection(conn, registry, args.consumer, args.resource, _key(args.key), args.field,
                                             args.reason)
        elif args.action == "resolve":
            got = objections.resolve(conn, args.id, accept=args.accept, reason=args.reason)
        else:
            res = find_resource(registry, args.resource) if args.resource else None
            got = objections.list_objections(conn, consumer=args.consumer, status=args.status, resource=res)
    if args.action == "raise":
        mail.deliver_now(url)
    if args.action == "list":
        _out(got) if args.json else _table(got, OBJECTION_COLS)
    else:
        _out(got) if args.json else print(f"objection {got['objection_id']}: {got['status']}")
    return 0


def cmd_access_log(args: argparse.Namespace) -> int:
    from citydata.exchange import access_log
    from citydata.warehouse.db import engine

    _, url = _ctx()
    with engine(url).connect() as conn:
        got = access_log.entries(conn, args.consumer, args.resource, args.limit)
    _out(got) if args.json else _table(got, ["log_id", "t_request", "consumer", "method", "path", "resource",
                                             "rows_returned", "status", "client_addr", "detail"])
    return 0


def cmd_catalog(args: argparse.Namespace) -> int:
    from citydata.exchange import catalog
    from citydata.warehouse.db import engine

    registry, url = _ctx()
    with engine(url).connect() as conn:
        entries = catalog.entries(conn, registry, args.consumer)
    doc = catalog.jsonld(entries, args.base_url.rstrip("/")) if args.format == "jsonld" else {"resources": entries}
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
        print(args.out)
    else:
        sys.stdout.write(text + "\n")
    return 0


def add_commands(add: Add) -> None:
    """Register the exchange's subcommands on the `citydata` parser (called by citydata.app.cli)."""
    s = add("share-api", cmd_share_api, "run the sharing API for consuming departments (FastAPI, uvicorn)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8091)

    c = add("consumer", cmd_consumer, "consumers of the sharing API and their bearer tokens")
    csub = c.add_subparsers(dest="action", required=True, metavar="ACTION")
    ca = csub.add_parser("add", help="issue a token (printed once; stored only as a hash)")
    ca.add_argument("consumer")
    ca.add_argument("--rotate", action="store_true", help="replace the token of an active consumer")
    ca.add_argument("--json", action="store_true")
    cr = csub.add_parser("revoke", help="revoke a consumer's token (its calls get 401)")
    cr.add_argument("consumer")
    cr.add_argument("--json", action="store_true")
    cl = csub.add_parser("list", help="consumers and their status (never tokens)")
    cl.add_argument("--json", action="store_true")

    a = add("access", cmd_access, "requests for conditionally shared resources and their approval (供需对接)")
    asub = a.add_subparsers(dest="action", required=True, metavar="ACTION")
    ar = asub.add_parser("request", help="file a request (the provider's owners get an email)")
    ar.add_argument("--consumer", required=True)
    ar.add_argument("--resource", required=True, help="resource code (371321-…) or department.resource")
    ar.add_argument("--purpose", required=True)
    ar.add_argument("--legal-basis")
    ar.add_argument("--field", action="append", help="only this field (repeatable; default every field)")
    ar.add_argument("--json", action="store_true")
    for name, help_ in (("review", "data office review done: forward to the provider (5 working days to answer)"),
                        ("approve", "approve: opens the API and the consumer's PostgreSQL role for the resource"),
                        ("reject", "reject (a reason is required)"),
                        ("revoke", "revoke an approval: closes the API and the PostgreSQL grant")):
        p = asub.add_parser(name, help=help_)
        p.add_argument("id", type=int)
        if name != "review":
            p.add_argument("--reason", required=name == "reject")
        else:
            p.set_defaults(reason=None)
        p.add_argument("--json", action="store_true")
    al = asub.add_parser("list", help="requests, newest first")
    al.add_argument("--consumer")
    al.add_argument("--resource")
    al.add_argument("--status", choices=["submitted", "reviewed", "approved", "rejected", "revoked"])
    al.add_argument("--overdue", action="store_true", help="only open requests past their due date")
    al.add_argument("--json", action="store_true")

    o = add("objection", cmd_objection, "objections to shared values (异议处理)")
    osub = o.add_subparsers(dest="action", required=True, metavar="ACTION")
    orr = osub.add_parser("raise", help="dispute one field of one shared row (the owners get an email)")
    orr.add_argument("--consumer", required=True)
    orr.add_argument("--resource", required=True)
    orr.add_argument("--key", action="append", required=True, metavar="FIELD=VALUE",
                     help="primary-key field of the row (repeat for each key field)")
    orr.add_argument("--field", required=True)
    orr.add_argument("--reason", required=True)
    orr.add_argument("--json", action="store_true")
    ors = osub.add_parser("resolve", help="the owner's answer: --accept (a correction will close it) or --reject")
    ors.add_argument("id", type=int)
    how = ors.add_mutually_exclusive_group(required=True)
    how.add_argument("--accept", action="store_true")
    how.add_argument("--reject", action="store_true")
    ors.add_argument("--reason")
    ors.add_argument("--json", action="store_true")
    ol = osub.add_parser("list", help="objections, newest first")
    ol.add_argument("--consumer")
    ol.add_argument("--resource")
    ol.add_argument("--status", choices=["open", "accepted", "corrected", "rejected"])
    ol.add_argument("--json", action="store_true")

    lg = add("access-log", cmd_access_log, "every call to the sharing API, allowed or refused (newest first)")
    lg.add_argument("--consumer")
    lg.add_argument("--resource")
    lg.add_argument("--limit", type=int, default=1000)
    lg.add_argument("--json", action="store_true")

    cg = add("catalog", cmd_catalog, "the data-resource catalogue (GB/T 21063 fields), JSON or DCAT JSON-LD")
    cg.add_argument("--format", choices=["json", "jsonld"], default="json")
    cg.add_argument("--consumer", help="also say whether this consumer may read each resource")
    cg.add_argument("--base-url", default="http://127.0.0.1:8091", help="sharing API address used in DCAT links")
    cg.add_argument("--out", type=Path)

