"""DAG integrity: every DAG imports under Airflow 3.3, is well declared, stays light.

Parse time is measured by `make bench` (bench/run.py), not asserted here: a timed assertion
fails on a loaded machine for reasons that are not the code's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = sorted((REPO / "dags").glob("*.py"))

PROBE = r"""
import json, sys, time, importlib.util
import airflow.sdk  # what the dag-processor already has loaded
from airflow.dag_processing.dagbag import DagBag
out = {"files": {}, "dags": {}, "import_errors": {}}
before = set(sys.modules)
for path in sys.argv[1:]:
    t0 = time.perf_counter()
    spec = importlib.util.spec_from_file_location("probe_" + path.replace("/", "_").replace(".", "_"), path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out["files"][path] = time.perf_counter() - t0
out["heavy"] = sorted(m for m in set(sys.modules) - before
                      if m.split(".")[0] in ("pandas", "great_expectations", "polars", "pyarrow"))
bag = DagBag(dag_folder=sys.argv[1].rsplit("/", 1)[0])
out["import_errors"] = {k: str(v)[:500] for k, v in bag.import_errors.items()}
for dag_id, dag in bag.dags.items():
    out["dags"][dag_id] = {
        "tags": sorted(dag.tags),
        "tasks": [{"id": t.task_id, "owner": t.owner, "retries": t.retries} for t in dag.tasks],
        "file": dag.fileloc,
    }
print("PROBE" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict:
    home = tmp_path_factory.mktemp("airflow")
    env = dict(os.environ, AIRFLOW_HOME=str(home), CITYDATA_HOME=str(home / "citydata"),
               AIRFLOW__CORE__LOAD_EXAMPLES="False", AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
               AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"))  # as `citydata env` and compose set it
    proc = subprocess.run([sys.executable, "-c", PROBE, *map(str, DAGS)], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("PROBE")), None)
    assert line, proc.stderr[-3000:]
    return json.loads(line[5:])


def test_every_dag_file_imports_without_errors(probe: dict) -> None:
    assert probe["import_errors"] == {}


def test_expected_dags_exist(probe: dict) -> None:
    from citydata.registry import load_registry

    expected = {f"ingest_{d}" for d in load_registry().departments}
    assert expected <= set(probe["dags"])


def test_dags_have_owner_tags_and_retries(probe: dict) -> None:
    for dag_id, dag in probe["dags"].items():
        assert "citydata" in dag["tags"], dag_id
        for t in dag["tasks"]:
            assert t["owner"] == "citydata", (dag_id, t)
            assert t["retries"] >= 2, (dag_id, t)


def test_dag_files_import_no_heavy_libraries(probe: dict) -> None:
    assert set(map(Path, probe["files"])) == set(DAGS)
    assert probe["heavy"] == []


def test_dag_folder_is_ruff_clean_including_airflow_rules() -> None:
    ruff = Path(sys.executable).with_name("ruff")
    proc = subprocess.run([str(ruff), "check", "--select", "AIR,F,E", str(REPO / "dags"), str(REPO / "plugins")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
