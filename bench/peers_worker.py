"""One peer measurement, run by bench/peers.py with the peers' own interpreter (bench/.peers-venv).

    peers_worker.py dlt URL CSV       → {"first_s", "again_s", "rows"}: dlt merge (upsert) of the
                                        file's rows read by pyarrow, loaded as Parquet (ADBC), twice
    peers_worker.py to_sql URL CSV N  → {"s", "rows"}: pandas read_csv of N rows + DataFrame.to_sql

Prints one JSON line. Only the peers' packages are imported here (never citydata).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time


def run_dlt(url: str, csv: str) -> dict:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    # dlt insists on a password; the bench's PostgreSQL trusts local connections and ignores it
    os.environ["DESTINATION__POSTGRES__CREDENTIALS"] = url if ":" in url.split("//", 1)[1].split("@")[0] \
        else url.replace("@", ":unused@", 1)
    import dlt
    import pyarrow.csv as pacsv

    times = []
    with tempfile.TemporaryDirectory(prefix="peers_dlt_") as tmp:
        # dlt's one-off costs (imports, destination set-up) paid before timing, as for our ingest
        warm = dlt.pipeline(pipeline_name="peers_warm", destination="postgres", dataset_name="peers_warm",
                            pipelines_dir=tmp)
        warm.run(dlt.resource(pacsv.read_csv(csv).slice(0, 100), name="warm", primary_key=("meter_id", "reading_time"),
                              write_disposition={"disposition": "merge", "strategy": "upsert"}),
                 loader_file_format="parquet")
        pipeline = dlt.pipeline(pipeline_name="peers_merge", destination="postgres", dataset_name="peers",
                                pipelines_dir=tmp)
        for _ in range(2):  # first load, then the same rows again (re-delivery)
            t0 = time.perf_counter()
            table = pacsv.read_csv(csv, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
            rows = dlt.resource(table, name="meter_readings", primary_key=("meter_id", "reading_time"),
                                write_disposition={"disposition": "merge", "strategy": "upsert"})
            pipeline.run(rows, loader_file_format="parquet")
            times.append(time.perf_counter() - t0)
    return {"first_s": times[0], "again_s": times[1], "rows": table.num_rows}


def run_to_sql(url: str, csv: str, rows: int) -> dict:
    import pandas as pd
    from sqlalchemy import create_engine

    eng = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    try:
        t0 = time.perf_counter()
        df = pd.read_csv(csv, nrows=rows)
        df.to_sql("peers_to_sql", eng, if_exists="replace", index=False, chunksize=50_000)
        return {"s": time.perf_counter() - t0, "rows": len(df)}
    finally:
        eng.dispose()


def main(argv: list[str]) -> int:
    kind, url, csv = argv[:3]
    out = run_dlt(url, csv) if kind == "dlt" else run_to_sql(url, csv, int(argv[3]))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
