"""The `citydata` command. Exit codes: 0 success, 1 failure (one line on stderr), 2 bad usage."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from citydata.errors import CitydataError
from citydata.exchange.cli import add_commands as add_exchange_commands


def _json_out(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def cmd_generate(args: argparse.Namespace) -> int:
    from citydata.mock.generate import generate
    from citydata.registry import load_registry

    paths = generate(load_registry(), args.department, resources=args.resource, rows=args.rows, seed=args.seed,
                     defect_rate=args.defect_rate, defects=args.defects, out=args.out, now=args.at)
    if args.json:
        _json_out([str(p) for p in paths])
    else:
        for p in paths:
            print(p)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from citydata.app.audit import audit_rows
    from citydata.render.table import render_table

    rows = audit_rows(args.department)
    if args.json:
        _json_out(rows)
        return 0
    cols = ["batch_id", "department", "resource", "source", "status", "rows_read", "rows_loaded",
            "rows_quarantined", "rows_duplicate", "rows_stale", "reason"]
    print(render_table(cols, [[r[c] for c in cols] for r in rows]))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from citydata.app.airflow_env import dags_test

    code = dags_test(args.dag_id)
    if code != 0:
        raise CitydataError(f"DAG {args.dag_id}: airflow dags test exited with {code}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    if args.live is not None:
        from citydata.app.live import run_live

        return run_live(args.live, seed=args.seed, every_seconds=args.every)
    from citydata.app.demo import run_demo

    return run_demo(rows=args.rows, seed=args.seed, as_json=args.json)


def cmd_env(args: argparse.Namespace) -> int:
    from citydata.app.airflow_env import airflow_environ

    env = airflow_environ({})
    for key in sorted(env):
        print(f"export {key}={json.dumps(env[key])}")
    return 0


def cmd_airflow(args: argparse.Namespace) -> int:
    from citydata.app import stack

    if args.action == "up":
        stack.up(args.host, args.port, timeout=args.timeout)
        return 0
    if args.action == "down":
        stack.down(grace=args.grace)
        return 0
    return 0 if stack.status() else 1


def cmd_kpi(args: argparse.Namespace) -> int:
    from citydata.kpi.present import kpi_table
    from citydata.kpi.read import read_kpis

    rows = read_kpis(args.period, args.date, refresh=True if args.recompute else "auto")
    if args.json:
        _json_out(rows)
    else:
        print(kpi_table(rows))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from citydata.reports.kpi_report import write_kpi_report

    path = write_kpi_report(args.month or args.quarter or args.year, lang=args.lang)
    print(path)
    return 0


def cmd_setup_roles(args: argparse.Namespace) -> int:
    from citydata.share.setup import setup_sharing

    for line in setup_sharing():
        print(line)
    return 0


def _arg_date(text: str) -> str:
    import datetime as dt

    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad date {text!r}: expected YYYY-MM-DD") from None


def _arg_minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 24 * 60:
        raise argparse.ArgumentTypeError(f"bad number of minutes {text!r}: expected 0 < MINUTES <= 1440")
    return value


def _arg_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 5:
        raise argparse.ArgumentTypeError(f"bad number of seconds {text!r}: expected at least 5")
    return value


def _arg_at(text: str) -> dt.datetime:
    """An ISO timestamp; naive means Asia/Shanghai (as departments write them)."""
    from citydata.domain.time import LOCAL_TZ

    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad timestamp {text!r}: expected e.g. 2026-12-02T08:30:00+08:00") from None
    return (at if at.tzinfo else at.replace(tzinfo=LOCAL_TZ)).astimezone(dt.UTC)


def _arg_period(pattern: str, what: str) -> Callable[[str], str]:
    import re

    def check(text: str) -> str:
        if not re.fullmatch(pattern, text):
            raise argparse.ArgumentTypeError(f"bad {what} {text!r}")
        return text.upper() if "Q" in text.upper() else text

    return check


def cmd_mock_api(args: argparse.Namespace) -> int:
    from citydata.mock.run import run_mock_api

    return run_mock_api(host=args.host, port=args.port, token=args.token, seed=args.seed, faults=args.fault,
                        tick=args.tick, snapshot_seconds=args.snapshot_seconds, rate_limit=args.rate_limit,
                        sessions_per_hour=args.sessions_per_hour)


def cmd_mock_db(args: argparse.Namespace) -> int:
    from citydata.mock.run import run_mock_db

    return run_mock_db(url=args.url, seed=args.seed, interval=args.interval, once=args.once,
                       backfill_hours=args.backfill_hours, visits_per_hour=args.visits_per_hour)


def cmd_pull(args: argparse.Namespace) -> int:
    from citydata.ingest.tasks import pull_resource

    record = pull_resource(args.department, args.resource)
    if args.json:
        _json_out(record)
    else:
        print(", ".join(f"{k}={v}" for k, v in record.items() if v is not None))
    if record["status"] == "skipped":
        raise CitydataError(record["reason"])
    return 1 if record["status"] == "rejected" else 0


def cmd_replay(args: argparse.Namespace) -> int:
    from citydata.ingest.replay import replay
    from citydata.render.table import render_table

    results = [r.as_dict() for r in replay(args.department, args.resource)]
    if args.json:
        _json_out(results)
    else:
        cols = ["department", "resource", "batch_id", "rows_read", "rows_loaded", "rows_still_bad", "rows_duplicate"]
        print(render_table(cols, [[r[c] for c in cols] for r in results]))
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    from citydata.ingest import replay as rp

    if args.action == "export":
        paths = rp.export_quarantine(args.department, args.resource, args.out)
        if args.json:
            _json_out([str(x) for x in paths])
        else:
            for x in paths:
                print(x)
            if not paths:
                print(f"no open quarantined rows for {args.department}", file=sys.stderr)
        return 0
    if args.action == "import":
        counts = rp.import_corrections(args.file)
        _json_out(counts) if args.json else print(", ".join(f"{k}={v}" for k, v in counts.items()))
        return 0
    from citydata.render.table import render_table

    rows = rp.quarantine_counts(args.department)
    if args.json:
        _json_out(rows)
    else:
        print(render_table(["department", "resource", "status", "n"], [[r[c] for c in ("department", "resource", "status", "n")] for r in rows]))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="citydata", description="County big-data center: departmental data aggregation.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(func=func)
        return sp

    _data_commands(add)
    _ingest_commands(add)
    _mock_commands(add)
    _airflow_commands(add)
    add_exchange_commands(add)  # share-api, consumer, access, objection, access-log, catalog
    return p


def _data_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Deliveries, the audit, the demo, indicators and reports."""
    g = add("generate", cmd_generate, "write mock deliveries into the landing zone")
    g.add_argument("department")
    g.add_argument("--resource", action="append", help="only this resource (repeatable)")
    g.add_argument("--rows", type=int, default=200)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--defect-rate", type=float, default=0.0)
    g.add_argument("--defects", type=lambda s: [x for x in s.split(",") if x], default=None,
                   help="defect kinds, comma separated: missing_required, out_of_range, invalid_code, duplicate, "
                        "late, future (per row, at --defect-rate, default 0.05); schema_renamed, schema_missing, "
                        "schema_extra, gbk_encoding, truncated (per file). Ground truth: "
                        "$CITYDATA_HOME/manifests/<department>/<resource>/<file>.manifest.json")
    g.add_argument("--out", type=Path, help="write here instead of the landing zone")
    g.add_argument("--at", type=_arg_at, help="the delivery's time (ISO; naive = Asia/Shanghai), default now: "
                                              "the same --seed and --at give byte-identical files")
    g.add_argument("--json", action="store_true")

    a = add("audit", cmd_audit, "one line per ingested file or pull, with the row accounting")
    a.add_argument("--department")
    a.add_argument("--json", action="store_true")

    r = add("run", cmd_run, "run one DAG once through Airflow (as `airflow dags test`)")
    r.add_argument("dag_id")

    d = add("demo", cmd_demo, "mock data for every department → every DAG → indicators vs targets")
    d.add_argument("--rows", type=int, default=200)
    d.add_argument("--seed", type=int, default=2022)
    d.add_argument("--json", action="store_true")
    d.add_argument("--live", type=_arg_minutes, metavar="MINUTES",
                   help="run the platform (api-server, scheduler, dag-processor, triggerer) for MINUTES while the "
                        "mock departments deliver in real time; then the indicators of that window")
    d.add_argument("--every", type=_arg_seconds, default=120.0, metavar="SECONDS",
                   help="with --live: remote-read meters report every SECONDS (default 120)")

    k = add("kpi", cmd_kpi, "indicators per department and county-wide against the targets")
    k.add_argument("--period", choices=["day", "month", "quarter", "year"], default="day")
    k.add_argument("--date", type=_arg_date, help="any day in the period (Asia/Shanghai), default today")
    k.add_argument("--recompute", action="store_true", help="recompute even a stored, complete period")
    k.add_argument("--json", action="store_true")

    rp = add("report", cmd_report, "write the monthly, quarterly or yearly HTML indicator report")
    which = rp.add_mutually_exclusive_group(required=True)
    which.add_argument("--month", type=_arg_period(r"\d{4}-(0[1-9]|1[0-2])", "month (YYYY-MM)"))
    which.add_argument("--quarter", type=_arg_period(r"\d{4}-[Qq][1-4]", "quarter (YYYY-Qn)"))
    which.add_argument("--year", type=_arg_period(r"\d{4}", "year (YYYY)"))
    rp.add_argument("--lang", choices=["zh-CN", "en"], default="zh-CN")


def _ingest_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Pulls, quarantine replay and corrections, the sharing layer's roles."""
    pl = add("pull", cmd_pull, "pull one http/sql resource once since its watermark (as the ingest DAG does)")
    pl.add_argument("department")
    pl.add_argument("resource")
    pl.add_argument("--json", action="store_true")

    rq = add("replay", cmd_replay, "re-validate open quarantined rows and load the ones that now pass (exactly once)")
    rq.add_argument("--department", required=True)
    rq.add_argument("--resource")
    rq.add_argument("--json", action="store_true")

    qr = add("quarantine", cmd_quarantine, "quarantined rows: counts, export to CSV for correction, import corrections")
    qsub = qr.add_subparsers(dest="action", required=True, metavar="ACTION")
    ql = qsub.add_parser("list", help="counts per resource and status")
    ql.add_argument("--department")
    ql.add_argument("--json", action="store_true")
    qe = qsub.add_parser("export", help="one CSV per resource of open rows (unmasked: the department's own data)")
    qe.add_argument("--department", required=True)
    qe.add_argument("--resource")
    qe.add_argument("--out", type=Path)
    qe.add_argument("--json", action="store_true")
    qi = qsub.add_parser("import", help="store corrections from an exported CSV (action=discard closes a row)")
    qi.add_argument("file", type=Path)
    qi.add_argument("--json", action="store_true")


    add("setup-roles", cmd_setup_roles, "create the sharing layer's tables, roles and grants (PostgreSQL)")


def _mock_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """The mock departments' systems."""
    ma = add("mock-api", cmd_mock_api, "run the parking department's mock HTTP API (FastAPI) until interrupted")
    ma.add_argument("--host", default="127.0.0.1")
    ma.add_argument("--port", type=int, default=8600)
    ma.add_argument("--token", help="Bearer token (default: $CITYDATA_PARKING_API_TOKEN or a random one, printed)")
    ma.add_argument("--seed", type=int, default=0)
    ma.add_argument("--fault", action="append", default=[], metavar="KIND=P",
                    help="error|slow|malformed|ratelimit=probability, or slow_seconds=S, retry_after=S (repeatable)")
    ma.add_argument("--tick", type=float, default=2.0, help="seconds between simulation steps")
    ma.add_argument("--snapshot-seconds", type=float, default=300.0, help="occupancy snapshot interval")
    ma.add_argument("--rate-limit", type=float, default=20.0, help="requests per second per server (0: off)")
    ma.add_argument("--sessions-per-hour", type=float, default=400.0)

    mdb = add("mock-db", cmd_mock_db, "create and keep updating the health department's mock database")
    mdb.add_argument("--url", help="SQLAlchemy URL (default: $CITYDATA_MOCK_DB_URL or an SQLite file in CITYDATA_HOME)")
    mdb.add_argument("--seed", type=int, default=0)
    mdb.add_argument("--interval", type=float, default=5.0, help="seconds between inserts/corrections")
    mdb.add_argument("--once", action="store_true", help="create and backfill, then exit")
    mdb.add_argument("--backfill-hours", type=float, default=24.0)
    mdb.add_argument("--visits-per-hour", type=float, default=60.0)


def _airflow_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Airflow's components and environment."""
    af = add("airflow", cmd_airflow, "start, watch and stop Airflow's components (api-server first, each waited for healthy)")
    asub = af.add_subparsers(dest="action", required=True, metavar="ACTION")
    aup = asub.add_parser("up", help="start api-server, dag-processor, scheduler, triggerer (and Celery workers) in order")
    aup.add_argument("--host", help="api-server host (default 127.0.0.1, or the last `up`'s)")
    aup.add_argument("--port", type=int, help="api-server port (default 8080, or the last `up`'s)")
    aup.add_argument("--timeout", type=float, default=300.0, help="seconds each component may take to be healthy")
    asub.add_parser("status", help="each component's pid and health (exit 1 unless all are healthy)")
    adown = asub.add_parser("down", help="stop them in reverse order: SIGTERM, SIGKILL after --grace seconds")
    adown.add_argument("--grace", type=float, default=30.0)

    add("env", cmd_env, "print the Airflow environment of this project (for `eval $(citydata env)`)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "rows", 1) is not None and getattr(args, "rows", 1) < 0:
        parser.error("--rows must be >= 0")
    rate = getattr(args, "defect_rate", 0.0)
    if rate is not None and not 0 <= rate <= 1:
        parser.error("--defect-rate must be between 0 and 1")
    try:
        return args.func(args)
    except CitydataError as exc:
        print(f"citydata: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("citydata: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 — users get one line; CITYDATA_DEBUG=1 shows the traceback
        if os.environ.get("CITYDATA_DEBUG"):
            raise
        print(f"citydata: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
