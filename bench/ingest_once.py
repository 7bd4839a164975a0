"""Ingest one or more files through the real path (landing zone → ingest_file) and time each.

Run as a subprocess by bench/run.py (so peak RSS is this process's own) or by hand:
    python bench/ingest_once.py --url URL --home DIR FILE [FILE ...] [--profile OUT.txt] [--json]
Each FILE is copied into the landing zone under a new name, so a re-delivery of the same
rows goes through the load (not the checksum shortcut) only if its content differs; pass
``--salt`` to make each copy's bytes differ (a trailing newline) while the rows stay the same.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path


def warm_up(resource: object) -> float:
    """Pay the once-per-process costs (importing Great Expectations, building the suite) before
    timing, as a long-lived worker would have; returns their seconds (reported separately)."""
    import pyarrow as pa

    from citydata.ingest.coerce import coerce_batch
    from citydata.quality.checks import run_checks
    from citydata.quality.suites import checks_for

    t0 = time.perf_counter()
    names = [f.name for f in resource.fields]
    batch = pa.RecordBatch.from_pylist([dict.fromkeys(names)], schema=pa.schema([(n, pa.string()) for n in names]))
    run_checks(checks_for(resource), coerce_batch(batch, resource), resource)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--url", required=True)
    ap.add_argument("--home", required=True, type=Path)
    ap.add_argument("--department", default="water")
    ap.add_argument("--resource", default="meter_readings")
    ap.add_argument("--profile", type=Path, help="write a pyinstrument text profile of the last file here")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--debug", action="store_true", help="log the load steps' timings")
    args = ap.parse_args(argv)

    if args.debug:
        import logging

        logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
        logging.getLogger("citydata.warehouse.load").setLevel(logging.DEBUG)
    os.environ["CITYDATA_HOME"] = str(args.home)
    os.environ["CITYDATA_WAREHOUSE_URL"] = args.url
    from citydata.config import settings
    from citydata.ingest import landing
    from citydata.ingest.pipeline import ingest_file, prepare
    from citydata.registry import load_registry

    cfg = settings()
    registry = load_registry()
    prepare(registry, cfg)
    warmup_s = warm_up(registry.resource(args.department, args.resource))
    out = []
    for n, src in enumerate(args.files):
        folder = cfg.landing_dir / args.department / args.resource
        folder.mkdir(parents=True, exist_ok=True)
        dst = folder / f"{src.stem}_{n}{src.suffix}"
        shutil.copyfile(src, dst)
        if n:  # same rows, different bytes: goes through the load, not the duplicate-file shortcut
            with dst.open("ab") as fh:
                fh.write(b"\n")
        [landed] = [f for f in landing.waiting_files(registry, args.department, cfg) if f.path == dst]
        profiler = None
        if args.profile and n == len(args.files) - 1:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.005)
            profiler.start()
        t0 = time.perf_counter()
        record = ingest_file(landed, registry, cfg)
        seconds = time.perf_counter() - t0
        if profiler:
            profiler.stop()
            args.profile.parent.mkdir(parents=True, exist_ok=True)  # bench/results/ is not in a fresh clone
            args.profile.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
        out.append({"file": src.name, "seconds": seconds, **record.as_dict()})
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {"runs": out, "peak_rss_mib": peak_kib / 1024, "warmup_s": warmup_s}
    if args.json:
        print(json.dumps(result))
    else:
        for r in out:
            print(f"{r['file']}: {r['seconds']:.2f} s {r['status']} read={r['rows_read']} loaded={r['rows_loaded']} "
                  f"quarantined={r['rows_quarantined']} duplicate={r['rows_duplicate']}")
        print(f"peak RSS {result['peak_rss_mib']:.0f} MiB; one-off warm-up {warmup_s:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
