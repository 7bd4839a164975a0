"""The reliability summary: bad inputs tried → outcome, faults injected → outcome, rows lost.

The reliability tests (tests/reliability/test_bad_inputs.py, test_faults*.py, test_security*.py,
test_landing_properties.py, and tests/ingest/test_landing_trust.py)
record each outcome as one JSON file under test-artifacts/reliability/<kind>/; this script
reads them and prints the table (`make reliability-report`). Exit 1 when a recorded outcome
differs from its expectation or any row was lost, 2 when nothing was recorded yet.

    .venv/bin/python scripts/reliability_report.py [--json] [--dir test-artifacts/reliability]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DIR = Path(os.environ.get("CITYDATA_RELIABILITY_DIR") or REPO / "test-artifacts" / "reliability")
KINDS = {"bad_inputs": "Bad inputs", "dag_runs": "Bad inputs through the ingest DAG", "faults": "Faults injected",
         "landing": "Landing contract (files being written, blocking files, older versions, typed values, names)",
         "properties": "Landing contract, property-based (random deliveries, writes, runs, kills)",
         "leaks": "Nothing leaked (header-less files, sensitive file names, owner-only raw layers, keyword names)",
         "security": "Security checks"}


def record_outcome(kind: str, key: str, outcome: dict) -> Path:
    """Called by the tests: one file per outcome, so parallel or repeated runs never clash."""
    folder = DEFAULT_DIR / kind
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (re.sub(r"[^A-Za-z0-9_.\[\]-]+", "_", key) + ".json")
    path.write_text(json.dumps(outcome, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return path


def load(folder: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for kind in KINDS:
        files = sorted((folder / kind).glob("*.json")) if (folder / kind).is_dir() else []
        out[kind] = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    return out


def _table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def _short(text: object, n: int = 70) -> str:
    s = " ".join(str(text or "").split())
    return s if len(s) <= n else s[: n - 1] + "…"


def render(data: dict[str, list[dict]]) -> tuple[str, int, int]:
    """The report text, the number of unexpected outcomes and the rows lost."""
    parts, bad, lost = [], 0, 0
    rows = []
    for r in sorted(data["bad_inputs"], key=lambda r: (r.get("topic", ""), r["case"], r.get("dialect", ""))):
        lost += int(r.get("rows_lost") or 0)
        bad += not r.get("ok")
        counts = (f"{r.get('rows_read', 0)}={r.get('rows_loaded', 0)}+{r.get('rows_quarantined', 0)}"
                  f"+{r.get('rows_duplicate', 0)}+{r.get('rows_stale', 0)}")
        rows.append([r.get("topic", ""), r["case"], r.get("dialect", ""), r["expected"], r["outcome"], counts,
                     "ok" if r.get("ok") else "UNEXPECTED", _short(r.get("reason"))])
    parts.append(f"{KINDS['bad_inputs']} ({len(rows)} runs of {len({r['case'] for r in data['bad_inputs']})} cases; "
                 "rows read=loaded+quarantined+duplicate+stale)\n"
                 + _table(["topic", "case", "warehouse", "expected", "outcome", "rows", "check", "reason"], rows))
    if data["dag_runs"]:
        dag_rows = [[r["case"], r["expected"], r["outcome"], "ok" if r.get("ok") else "UNEXPECTED"]
                    for r in sorted(data["dag_runs"], key=lambda r: r["case"])]
        bad += sum(not r.get("ok") for r in data["dag_runs"])
        parts.append(f"{KINDS['dag_runs']} ({len(dag_rows)} cases, airflow dags test ingest_water)\n"
                     + _table(["case", "expected", "outcome", "check"], dag_rows))
    for kind in ("faults", "landing", "properties", "leaks", "security"):
        items = sorted(data[kind], key=lambda r: r["name"])
        lost += sum(int(r.get("rows_lost") or 0) for r in items)
        bad += sum(not r.get("ok") for r in items)
        table_rows = [[r["name"], _short(r.get("injected"), 60), _short(r.get("outcome"), 80), r.get("rows_lost", "-"),
                       "ok" if r.get("ok") else "UNEXPECTED"] for r in items]
        parts.append(f"{KINDS[kind]} ({len(items)})\n"
                     + _table(["name", "injected / attempted", "outcome", "rows lost", "check"], table_rows))
    parts.append(f"Rows lost: {lost} (must be 0) · unexpected outcomes: {bad}")
    return "\n\n".join(parts), bad, lost


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    args = ap.parse_args(argv)
    data = load(args.dir)
    if not any(data.values()):
        print(f"reliability-report: no outcomes under {args.dir}; run the reliability tests first "
              "(pytest tests/reliability/test_bad_inputs.py tests/reliability/test_faults.py tests/reliability/test_security.py tests/ingest/test_no_leak.py)", file=sys.stderr)
        return 2
    text, bad, lost = render(data)
    if args.json:
        print(json.dumps({**data, "unexpected": bad, "rows_lost": lost}, ensure_ascii=False, indent=1, default=str))
    else:
        print(text)
    return 1 if bad or lost else 0


if __name__ == "__main__":
    sys.exit(main())
