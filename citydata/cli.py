"""The `citydata` command. Exit codes: 0 success, 1 failure (one line on stderr), 2 bad usage."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from citydata.errors import CitydataError


def _json_out(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def cmd_generate(args: argparse.Namespace) -> int:
    from citydata.generate import generate
    from citydata.registry import load_registry

    paths = generate(load_registry(), args.department, resources=args.resource, rows=args.rows, seed=args.seed,
                     defect_rate=args.defect_rate, defects=args.defects, out=args.out)
    if args.json:
        _json_out([str(p) for p in paths])
    else:
        for p in paths:
            print(p)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from citydata.audit import audit_rows
    from citydata.table import render_table

    rows = audit_rows(args.department)
    if args.json:
        _json_out(rows)
        return 0
    cols = ["batch_id", "department", "resource", "source", "status", "rows_read", "rows_loaded",
            "rows_quarantined", "rows_duplicate", "reason"]
    print(render_table(cols, [[r[c] for c in cols] for r in rows]))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from citydata.airflow_env import dags_test

    code = dags_test(args.dag_id)
    if code != 0:
        raise CitydataError(f"DAG {args.dag_id}: airflow dags test exited with {code}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from citydata.demo import run_demo

    return run_demo(rows=args.rows, seed=args.seed, as_json=args.json)


def cmd_env(args: argparse.Namespace) -> int:
    from citydata.airflow_env import airflow_environ

    env = airflow_environ({})
    for key in sorted(env):
        print(f"export {key}={json.dumps(env[key])}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="citydata", description="County big-data center: departmental data aggregation.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(func=func)
        return sp

    g = add("generate", cmd_generate, "write mock deliveries into the landing zone")
    g.add_argument("department")
    g.add_argument("--resource", action="append", help="only this resource (repeatable)")
    g.add_argument("--rows", type=int, default=200)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--defect-rate", type=float, default=0.0)
    g.add_argument("--defects", type=lambda s: [x for x in s.split(",") if x], default=None,
                   help="defect kinds, comma separated")
    g.add_argument("--out", type=Path, help="write here instead of the landing zone")
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

    add("env", cmd_env, "print the Airflow environment of this project (for `eval $(citydata env)`)")
    return p


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
