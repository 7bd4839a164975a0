"""Static checks of the deployment files (Docker does not run in CI): docker-compose.yml, .env.example, Dockerfile."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "Dockerfile"
AIRFLOW_IMAGE = "apache/airflow:3.3.2-python3.11"
AIRFLOW_COMPONENTS = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                      "airflow-worker", "airflow-init"}
ENV_NAME = re.compile(r"CITYDATA_[A-Z0-9_]*[A-Z0-9]")
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose: dict) -> dict[str, dict]:
    return compose["services"]


def env_example_names() -> set[str]:
    """Every NAME in .env.example, set (NAME=...) or documented in a comment (# NAME=...)."""
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(encoding="utf-8"), re.M))


def env_example_values() -> dict[str, str]:
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE.read_text(encoding="utf-8"), re.M))


def citydata_names_read_by_code() -> dict[str, str]:
    """CITYDATA_* names in the code (library, DAGs, plugins) and the registry (url_env: …) → one file naming it."""
    found: dict[str, str] = {}
    files = [*REPO.glob("citydata/**/*.py"), *REPO.glob("dags/**/*.py"), *REPO.glob("plugins/**/*.py"),
             REPO / "include" / "departments.yaml"]
    for path in files:
        for name in ENV_NAME.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, str(path.relative_to(REPO)))
    return found


def compose_environment(services: dict[str, dict]) -> dict[str, str]:
    out: dict[str, str] = {}
    for svc in services.values():
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) for item in env)
        out.update({k: str(v) for k, v in env.items()})
    return out


def test_compose_parses_and_has_every_service_of_the_deployment(compose: dict, services: dict[str, dict]) -> None:
    assert "x-airflow-common" in compose
    expected = AIRFLOW_COMPONENTS | {"postgres", "warehouse", "redis", "mailpit", "mock-parking-api", "mock-health-db",
                                     "share-api"}
    assert expected <= set(services), f"missing services: {sorted(expected - set(services))}"


def test_every_service_has_a_healthcheck(services: dict[str, dict]) -> None:
    missing = [name for name, svc in services.items() if not (svc.get("healthcheck") or {}).get("test")]
    assert not missing, f"services without a healthcheck: {missing}"
    for name, svc in services.items():
        test = svc["healthcheck"]["test"]
        assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL"), f"{name}: healthcheck test {test!r}"


def test_airflow_runs_celery_on_redis_with_postgres_metadata_and_a_separate_warehouse(services: dict[str, dict]) -> None:
    for name in AIRFLOW_COMPONENTS:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert re.match(r"redis://(:@)?redis:6379/", env["AIRFLOW__CELERY__BROKER_URL"]), name
        assert "@postgres/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], name
        assert "@warehouse/" in env["CITYDATA_WAREHOUSE_URL"], name
        assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == "/opt/citydata/plugins", name
        assert services[name]["image"] == services["airflow-scheduler"]["image"], name
    assert "smtp://mailpit:" in services["airflow-worker"]["environment"]["AIRFLOW_CONN_SMTP_DEFAULT"]
    commands = {name: str(services[name].get("command")) for name in AIRFLOW_COMPONENTS}
    assert commands["airflow-worker"] == "celery worker"
    for name, cmd in [("airflow-apiserver", "api-server"), ("airflow-scheduler", "scheduler"),
                      ("airflow-dag-processor", "dag-processor"), ("airflow-triggerer", "triggerer")]:
        assert commands[name] == cmd


def test_workers_scale_and_start_after_init(services: dict[str, dict]) -> None:
    worker = services["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker, "--scale needs no fixed name or host port"
    for name in AIRFLOW_COMPONENTS - {"airflow-init"}:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully", name
    for name, svc in services.items():
        for dep in svc.get("depends_on") or {}:
            assert dep in services, f"{name} depends on unknown service {dep}"


def test_init_migrates_creates_the_login_roles_and_a_landing_folder_per_department(services: dict[str, dict]) -> None:
    script = "\n".join(services["airflow-init"]["command"])
    for step in ("airflow db migrate", "passwords.json", "citydata setup-roles", "load_registry().departments",
                 "landing_dir"):
        assert step in script, f"init does not run {step!r}"


def test_landing_zone_and_state_are_shared_volumes_at_one_path(compose: dict, services: dict[str, dict]) -> None:
    for name in AIRFLOW_COMPONENTS:
        vols = services[name]["volumes"]
        assert "landing-zone:/data/zone" in vols and "citydata-state:/opt/citydata/state" in vols, name
        env = services[name]["environment"]
        assert env["CITYDATA_LANDING_DIR"].startswith("/data/zone/"), name
    assert {"landing-zone", "citydata-state"} <= set(compose["volumes"])


def test_every_citydata_setting_the_compose_file_sets_is_read_by_the_code(services: dict[str, dict]) -> None:
    read = citydata_names_read_by_code()
    unread = sorted(n for n in compose_environment(services) if n.startswith("CITYDATA_") and n not in read)
    assert not unread, f"docker-compose.yml sets {unread}, which no code reads"


def test_every_citydata_setting_the_code_reads_is_in_env_example() -> None:
    documented = env_example_names()
    missing = {n: f for n, f in citydata_names_read_by_code().items() if n not in documented}
    assert not missing, f".env.example lacks {missing} (name → a file reading it)"


def _strings(node: object) -> list[str]:
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


def test_every_variable_the_compose_file_interpolates_is_in_env_example(compose: dict) -> None:
    used = {name for s in _strings(compose) for name in INTERPOLATION.findall(s)}
    assert {"AIRFLOW_DB_PASSWORD", "CITYDATA_PARKING_API_TOKEN"} <= used
    missing = sorted(used - env_example_names())
    assert not missing, f"docker-compose.yml uses ${{…}} not in .env.example: {missing}"


def test_env_example_schedules_are_valid_and_match_the_code_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    from citydata.ingest import watch

    values = env_example_values()
    monkeypatch.setenv("CITYDATA_INGEST_FALLBACK_CRON", values["CITYDATA_INGEST_FALLBACK_CRON"])
    monkeypatch.setenv("CITYDATA_PULL_CRON", values["CITYDATA_PULL_CRON"])
    monkeypatch.setenv("CITYDATA_WATCH_POLL_SECONDS", values["CITYDATA_WATCH_POLL_SECONDS"])
    assert watch.fallback_cron() == watch.DEFAULT_FALLBACK_CRON
    assert watch.pull_cron() == watch.DEFAULT_PULL_CRON
    assert watch.poll_seconds() == watch.DEFAULT_POLL_SECONDS
    secrets = ["AIRFLOW_DB_PASSWORD", "WAREHOUSE_DB_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET",
               "AIRFLOW_ADMIN_PASSWORD", "CITYDATA_PARKING_API_TOKEN"]
    assert all(values.get(s) == "" for s in secrets), "secrets in .env.example must be empty placeholders"


def test_dockerfile_builds_on_the_pinned_official_image_and_installs_the_lock_and_package() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert froms == [AIRFLOW_IMAGE]
    lock = (REPO / "requirements.txt").read_text(encoding="utf-8")
    version = re.search(r"^apache-airflow==([\d.]+)$", lock, re.M).group(1)
    assert AIRFLOW_IMAGE.split(":")[1].startswith(version + "-"), "image tag and locked Airflow differ"
    assert re.search(r"pip install [^\n]*-r requirements\.txt", text)
    assert re.search(r"pip install [^\n]*-e \.", text)
    for src in re.findall(r"^COPY\s+(?:--\S+\s+)*(\S+)\s+\S+$", text, re.M):
        assert (REPO / src).exists(), f"Dockerfile copies {src}, which does not exist"
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".venv", ".git"} <= set(ignored)


def test_compose_image_services_are_pinned(services: dict[str, dict]) -> None:
    for name, svc in services.items():
        image = svc.get("image", "")
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin the image tag ({image!r})"


def test_share_api_serves_the_warehouse_after_init(services: dict[str, dict]) -> None:
    svc = services["share-api"]
    assert "citydata share-api --host 0.0.0.0 --port 8091" in " ".join(svc["command"])
    assert svc["environment"]["CITYDATA_WAREHOUSE_URL"].startswith("postgresql+psycopg://")
    assert svc["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert any(p.endswith(":8091") for p in svc["ports"]) and "/health" in " ".join(svc["healthcheck"]["test"])


def test_compose_sets_the_airflow_settings_of_the_native_setup(services: dict[str, dict], home: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Time zone, Execution API timeout and quiet loggers: one truth for compose and `citydata airflow up`."""
    from citydata.app.airflow_env import airflow_environ

    monkeypatch.setenv("AIRFLOW_HOME", str(home / "airflow"))
    native = airflow_environ()
    env = compose_environment(services)
    for key in ("AIRFLOW__CORE__DEFAULT_TIMEZONE", "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT",
                "AIRFLOW__LOGGING__NAMESPACE_LEVELS"):
        assert str(env[key]) == native[key], key


def test_airflow_sends_lineage_to_marquez_in_compose(services: dict[str, dict]) -> None:
    """OpenLineage events of every component go to the Marquez service (docs/lineage.md), which waits for its DB."""
    for name in AIRFLOW_COMPONENTS:
        env = services[name]["environment"]
        transport = json.loads(env["AIRFLOW__OPENLINEAGE__TRANSPORT"])
        assert transport["type"] == "http" and transport["url"] == "http://marquez:5000", name
        assert env["AIRFLOW__OPENLINEAGE__NAMESPACE"] == "citydata", name
        assert env["CITYDATA_LINEAGE_HOST"], name  # one name for the shared landing volume on every worker
    assert "5000" in str(services["marquez"]["ports"]) and services["marquez"]["depends_on"]["marquez-db"]
    assert services["marquez-web"]["environment"]["MARQUEZ_HOST"] == "marquez"
