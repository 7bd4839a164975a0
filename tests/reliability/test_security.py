"""Security: who may deliver what, symlinks, SQL built safely, no secrets, least-privilege roles, masking.

Each check records its outcome in test-artifacts/reliability/security/ for `make reliability-report`.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from scripts.reliability_report import record_outcome
from tests.helpers import libpq

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def outcome(request: pytest.FixtureRequest) -> Iterator[dict]:
    row = {"name": request.node.name, "injected": "", "outcome": "test did not finish", "rows_lost": 0, "ok": False}
    yield row
    record_outcome("security", request.node.name, row)


def _csv(path: Path, header: str, rows: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _core_count(url: str, table: str) -> int:
    from citydata.warehouse.db import qualify, transaction

    with transaction(url) as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {qualify('core', table, conn.dialect.name)}")).scalar()


def test_department_writes_only_its_own_resources(home: Path, outcome: dict) -> None:
    """Files under landing/water/ load into water tables only, whatever they claim to be."""
    from citydata.config import settings
    from citydata.ingest.pipeline import ingest_department
    from citydata.mock.generate import generate
    from citydata.registry import load_registry

    cfg = settings()
    reg = load_registry()
    outcome["injected"] = "gas data delivered under landing/water/ (in water's folder and in a gas-named folder)"
    # Gas readings dropped in water's meter_readings folder are water's delivery (same shape, water's checks).
    gas_files = generate(reg, "gas", resources=["meter_readings", "meters"], rows=20, seed=7, out=cfg.landing_dir / "tmp")
    (cfg.landing_dir / "water" / "meter_readings").mkdir(parents=True)
    gas_files[0].rename(cfg.landing_dir / "water" / "meter_readings" / "gas_readings.csv")
    (cfg.landing_dir / "water" / "safety_inspections").mkdir(parents=True)
    gas_files[1].rename(cfg.landing_dir / "water" / "safety_inspections" / "gas_meters.csv")
    (cfg.landing_dir / "water" / "gas").mkdir()
    _csv(cfg.landing_dir / "water" / "gas" / "x.csv", "meter_id", ["RQ01"])
    records = {r.source: r for r in ingest_department("water")}
    # Audited under the path the department used (the rejected copy sits in rejected/water/_unknown/).
    assert records["water/safety_inspections/gas_meters.csv"].status == "rejected"
    assert "not a resource of department water" in records["water/safety_inspections/gas_meters.csv"].reason
    assert records["water/gas/x.csv"].status == "rejected"
    assert records["water/meter_readings/gas_readings.csv"].resource == "meter_readings"
    assert all(r.department == "water" for r in records.values())
    assert _core_count(cfg.warehouse_url, "gas__meter_readings") == 0
    assert _core_count(cfg.warehouse_url, "gas__meters") == 0
    # And ingest_gas never looks into water's folder.
    assert ingest_department("gas") == []
    outcome.update(outcome="unknown folders rejected; water's folder loads only water tables; gas tables untouched", ok=True)


def test_symlinks_and_foreign_folders_refused(home: Path, tmp_path: Path, outcome: dict) -> None:
    """A symlinked file, resource folder or department folder is never followed."""
    from citydata.config import settings
    from citydata.ingest import landing
    from citydata.ingest.pipeline import ingest_department
    from citydata.registry import load_registry

    cfg = settings()
    outside = tmp_path / "outside"
    secret = _csv(outside / "secret.csv", "meter_id,reading_time,reading_m3,read_method", ["SW0100000001,x,1,auto"])
    water = cfg.landing_dir / "water"
    water.mkdir(parents=True)
    (water / "meter_readings").symlink_to(outside, target_is_directory=True)
    outcome["injected"] = "symlinked resource folder and department folder pointing outside the landing zone"
    records = ingest_department("water")
    assert [(r.status, r.reason) for r in records] == [
        ("rejected", "not accepted: symbolic links are not accepted in the landing zone")]
    assert secret.exists() and outside.is_dir(), "the link target is untouched"
    # A department folder that is itself a link (e.g. to another department's folder) is not read at all.
    gas = cfg.landing_dir / "gas"
    _csv(gas / "meter_readings" / "g.csv", "meter_id", ["RQ0100000001"])
    os.symlink(gas, cfg.landing_dir / "health")
    assert landing.waiting_files(load_registry(), "health", cfg) == []
    assert (gas / "meter_readings" / "g.csv").exists()
    outcome.update(outcome="symlinked folder rejected without touching its target; symlinked department folder ignored",
                   ok=True)


BAD_NAMES = ["water; DROP TABLE x", "Water", "x y", "a\"b", "1abc", "core.x", "ab'--"]


@pytest.mark.parametrize("where", ["department", "resource", "field", "primary_key", "consumer"])
def test_registry_names_must_be_sql_identifiers(where: str, tmp_path: Path) -> None:
    """Every name that becomes part of SQL is validated when the registry loads."""
    from citydata.errors import RegistryError
    from citydata.registry import load_registry

    base = yaml.safe_load((REPO / "include" / "departments.yaml").read_text(encoding="utf-8"))
    for bad in BAD_NAMES:
        doc = copy.deepcopy(base)
        water = doc["departments"]["water"]
        readings = water["resources"]["meter_readings"]
        if where == "department":
            doc["departments"][bad] = doc["departments"].pop("water")
        elif where == "resource":
            water["resources"][bad] = water["resources"].pop("meter_readings")
        elif where == "field":
            readings["fields"][-1]["name"] = bad
        elif where == "primary_key":
            readings["primary_key"] = ["meter_id", bad]
        else:
            doc["consumers"][bad] = doc["consumers"].pop("housing")
            water["resources"]["meters"]["consumers"] = [bad]
        path = tmp_path / "registry.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        with pytest.raises(RegistryError):
            load_registry(path)


# SQL text built with f-strings may interpolate identifiers (validated registry names, layer
# names, qualify() results); a quoted interpolation '{...}' puts a value into SQL text instead
# of binding it. Each known one is reviewed here; a new one fails this test until reviewed.
REVIEWED_QUOTED = {
    ("citydata/share/roles.py", "role"): "role names built from registry identifiers (validated when the registry loads)",
    ("citydata/share/roles.py", "READER"): "the constant 'share_reader'",
}
SQL_CALL = re.compile(r"""(?:text|execute|exec_driver_sql|copy)\(\s*f(["'])(?P<body>.*?)(?<!\\)\1""", re.S)
QUOTED = re.compile(r"'\{(?P<expr>[^}]+)\}'")


def test_sql_values_are_bound_not_formatted(outcome: dict) -> None:
    """No SQL statement puts a value into its text: f-strings only carry identifiers."""
    found = []
    for path in sorted([*(REPO / "citydata").rglob("*.py"), *(REPO / "plugins").rglob("*.py")]):
        rel = str(path.relative_to(REPO))
        source = path.read_text(encoding="utf-8")
        for m in SQL_CALL.finditer(source):
            for q in QUOTED.finditer(m.group("body")):
                if (rel, q.group("expr").strip()) not in REVIEWED_QUOTED:
                    line = source[: m.start()].count("\n") + 1
                    found.append(f"{rel}:{line}: '{{{q.group('expr')}}}' in SQL text")
    for sql in (REPO / "include" / "sql").rglob("*.sql"):
        body = sql.read_text(encoding="utf-8")
        for p in re.findall(r"'\{\{\s*(\w+)\s*\}\}'", body):
            found.append(f"{sql.relative_to(REPO)}: '{{{{{p}}}}}' placeholder inside a string literal")
    outcome["injected"] = "static review of every f-string SQL call in citydata/ and plugins/ and of include/sql"
    assert not found, "values formatted into SQL (bind them as :params):\n" + "\n".join(found)
    outcome.update(outcome="no value formatted into SQL text; placeholders are identifiers only", ok=True)


SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP )?PRIVATE KEY"),
    "password in a URL": re.compile(
        r"[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:(?!\{|\$|\*|xxx|pass@|password@|secret@|changeme@|<|…)[^@\s/'\"]{3,}@", re.I),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),
    "Slack token": re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}"),
    "OpenAI-style key": re.compile(r"\bsk-[A-Za-z0-9]{32,}"),
    "assigned secret": re.compile(r"""(?i)\b(?:password|passwd|secret_key|api_key|token)\s*[=:]\s*["'][^"'\s{$]{8,}["']"""),
}


# Reviewed hits that are not secrets (file, kind): why.
NOT_SECRETS = {
    ("tests/sources/test_sources_http.py", "assigned secret"): "the token the test's own mock API server expects",
}


def test_no_secret_in_repository(outcome: dict) -> None:
    """Tracked and new (not ignored) files hold no private key, credential URL or token."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True,
                            check=True).stdout.split(b"\0")
    hits, scanned = [], 0
    for name in filter(None, listed):
        path = REPO / name.decode()
        if not path.is_file() or path.is_symlink() or path.stat().st_size > 2 << 20:
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        scanned += 1
        body = data.decode("utf-8", "replace")
        for what, pattern in SECRET_PATTERNS.items():
            for m in pattern.finditer(body):
                if (name.decode(), what) in NOT_SECRETS:
                    continue
                hits.append(f"{name.decode()}:{body[: m.start()].count(chr(10)) + 1}: {what}")
    outcome["injected"] = f"scan of {scanned} tracked/new text files for keys, credential URLs and tokens"
    assert scanned > 50
    assert not hits, "\n".join(hits)
    outcome.update(outcome="no secret found", ok=True)


def test_secret_scanner_catches_secrets() -> None:
    """The patterns above do fire (so the scan is not vacuous)."""
    samples = {  # assembled at run time, so this file does not trip the scan itself
        "private key": "-----BEGIN RSA " + "PRIVATE KEY-----",
        "password in a URL": "postgresql://citydata:" + "s3cretpw@db:5432/warehouse",
        "AWS access key": "AKIA" + "ABCDEFGHIJKLMNOP",
        "GitHub token": "ghp_" + "a" * 36,
        "assigned secret": "password = " + '"hunter2hunter2"',
    }
    for what, sample in samples.items():
        assert SECRET_PATTERNS[what].search(sample), what
    assert not SECRET_PATTERNS["password in a URL"].search("postgresql+psycopg://postgres@127.0.0.1:5432/test")


# --- PostgreSQL roles ------------------------------------------------------------------------

@pytest.fixture
def roles_db(home: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """A warehouse with data in core/quality, the sharing roles and the least-privilege roles set up,
    and LOGIN users (unique per test) for the ingest writer and the dashboard reader."""
    import psycopg

    from citydata.config import settings
    from citydata.ingest.pipeline import ingest_department, prepare
    from citydata.mock.generate import generate
    from citydata.registry import load_registry
    from citydata.share.roles import setup_roles
    from citydata.warehouse.db import run_file, transaction

    monkeypatch.setenv("CITYDATA_WAREHOUSE_URL", pg_url)
    reg = load_registry()
    cfg = settings()
    prepare(reg, cfg)
    generate(reg, "health", resources=["card_visits"], rows=30, seed=11, defect_rate=0.1)
    ingest_department("health")
    from citydata.share.publish import publish_department

    publish_department(reg, "health", pg_url, cfg)
    with transaction(pg_url) as conn:
        setup_roles(conn, reg)
        run_file(conn, "roles/least_privilege.sql")
    suffix = uuid.uuid4().hex[:8]
    users = {"writer": f"cdt_writer_{suffix}", "dashboard": f"cdt_dash_{suffix}"}
    with psycopg.connect(libpq(pg_url), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {users['writer']} LOGIN IN ROLE citydata_ingest_writer")
        admin.execute(f"CREATE ROLE {users['dashboard']} LOGIN IN ROLE citydata_dashboard_reader")
    base, _, db = pg_url.rpartition("/")
    urls = {k: base.replace("://postgres@", f"://{u}@") + "/" + db for k, u in users.items()}
    yield {"admin": pg_url, **urls}
    from citydata.warehouse.db import dispose_engines

    dispose_engines()
    with psycopg.connect(libpq(pg_url), autocommit=True) as admin:
        for u in users.values():
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (u,))
            admin.execute(f"DROP OWNED BY {u}")
            admin.execute(f"DROP ROLE {u}")


def _denied(url: str, sql: str, role: str | None = None) -> bool:
    import psycopg

    with psycopg.connect(libpq(url)) as conn:
        if role:
            conn.execute(f"SET ROLE {role}")
        try:
            conn.execute(sql)
            return False
        except psycopg.errors.InsufficientPrivilege:
            return True


@contextlib.contextmanager
def _login_user(admin_url: str, group: str) -> Iterator[str]:
    """A LOGIN user (unique) in ``group``; yields its URL, drops it afterwards."""
    import psycopg

    base, _, db = admin_url.rpartition("/")
    user = f"cdt_{group.removeprefix('citydata_ingest_')}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq(admin_url), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {user} LOGIN IN ROLE {group}")
    try:
        yield base.replace("://postgres@", f"://{user}@") + "/" + db
    finally:
        from citydata.warehouse.db import dispose_engines

        dispose_engines()
        with psycopg.connect(libpq(admin_url), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (user,))
            admin.execute(f"DROP OWNED BY {user}")
            admin.execute(f"DROP ROLE {user}")


@pytest.mark.pg
@pytest.mark.timeout(180)
def test_share_reader_cannot_read_personal_data(roles_db: dict, outcome: dict) -> None:
    """share_reader reads the unconditional share tables only: not core, raw, quality (raw values) or audit."""
    admin = roles_db["admin"]
    outcome["injected"] = "SELECT as share_reader on core/quality/raw/audit tables holding health citizen IDs"
    for sql in ("SELECT citizen_id FROM core.health__card_visits", "SELECT record FROM quality.quarantine",
                "SELECT * FROM audit.ingest_log", "SELECT * FROM meta.watermarks"):
        assert _denied(admin, sql, "share_reader"), sql
    for consumer in ("share_consumer_medical_insurance",):  # the conditional consumer of card_visits
        assert _denied(admin, "SELECT citizen_id FROM core.health__card_visits", consumer)
    assert not _denied(admin, "SELECT * FROM share.health__institutions", "share_reader")
    assert _denied(admin, "SELECT * FROM share.health__card_visits", "share_reader"), "有条件共享: consumers only"
    outcome.update(outcome="permission denied on core, quality, audit, meta and on conditional share tables", ok=True)


@pytest.mark.pg
@pytest.mark.timeout(240)
def test_ingest_writer_loads_but_cannot_tamper(roles_db: dict, monkeypatch: pytest.MonkeyPatch, outcome: dict) -> None:
    """A LOGIN user in citydata_ingest_writer runs a real ingest; it cannot delete audit rows, drop or empty share."""
    from citydata.config import settings
    from citydata.ingest import pipeline as ingest
    from citydata.mock.generate import generate
    from citydata.registry import load_registry
    from citydata.warehouse import load as load_mod

    writer = roles_db["writer"]
    monkeypatch.setenv("CITYDATA_WAREHOUSE_URL", writer)
    # The table is empty: a first load by its owner drops and rebuilds its indexes, which the
    # writer may not do (not the owner). It must load the plain way instead of failing.
    monkeypatch.setattr(load_mod, "FIRST_LOAD_MIN_ROWS", 1)
    reg = load_registry()
    ingest._READY.add((writer, str(reg.path)))  # the owner created the schema; the writer does no DDL
    generate(reg, "water", resources=["meter_readings"], rows=50, seed=12)
    records = ingest.ingest_department("water")
    assert [r.status for r in records] in (["loaded"], ["partial"]) and records[0].rows_read == 50
    outcome["injected"] = "DELETE/UPDATE audit, DROP/TRUNCATE core and share, exchange tokens as the ingest writer"
    # It publishes (share tables are masked, so it may read them) but cannot drop, empty or delete them.
    for sql in ("DELETE FROM audit.ingest_log", "TRUNCATE core.water__meter_readings",
                "DROP TABLE core.water__meter_readings", "TRUNCATE share.health__institutions",
                "DELETE FROM share.health__institutions", "SELECT token_hash FROM meta.exchange_consumers",
                "CREATE TABLE core.evil (x int)", "DELETE FROM core.health__card_visits"):
        assert _denied(writer, sql), sql
    assert settings().warehouse_url == writer
    outcome.update(outcome=f"ingest as writer {records[0].status} ({records[0].rows_loaded} rows); "
                           "delete/truncate/drop/DDL/token read all denied", ok=True)


@pytest.mark.pg
@pytest.mark.timeout(240)
def test_ingest_writer_cannot_rewrite_the_accounting(roles_db: dict, outcome: dict) -> None:
    """Issue 15, defect 6: the audit trail is append-only for the writer. It cannot UPDATE audit rows
    (e.g. hide quarantined rows while keeping rows_read = loaded + quarantined + ...), mark quarantined
    rows discarded, forge counts on a new row, or re-close a closed batch through the owner's function."""
    import psycopg

    writer = roles_db["writer"]
    outcome["injected"] = ("as the ingest writer: UPDATE audit.ingest_log / quality.quarantine, INSERT a row with "
                           "counts, audit.close_batch on a closed batch, DELETE stale rows")
    with psycopg.connect(libpq(roles_db["admin"])) as conn:
        batch = conn.execute("SELECT batch_id FROM audit.ingest_log WHERE rows_quarantined > 0 LIMIT 1").fetchone()[0]
    attacks = [
        f"UPDATE audit.ingest_log SET rows_quarantined = 0, rows_loaded = rows_loaded + rows_quarantined "
        f"WHERE batch_id = {batch}",
        "UPDATE quality.quarantine SET status = 'discarded'",
        "DELETE FROM quality.quarantine",
        "DELETE FROM quality.stale_rows",
        "UPDATE quality.validation_results SET failed = 0",
        "INSERT INTO audit.ingest_log (department, resource, source_kind, source, status, rows_read, rows_loaded, "
        "started_at) VALUES ('water', 'meters', 'file', 'x', 'loaded', 5, 5, now())",
    ]
    for sql in attacks:
        assert _denied(writer, sql), sql
    with psycopg.connect(libpq(writer)) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="never rewritten"):
            conn.execute("SELECT audit.close_batch(%s, 'loaded', 1, 1, 0, 0, 0, NULL, now())", (batch,))
    for role in ("share_reader", "citydata_dashboard_reader"):
        assert _denied(roles_db["admin"], "SELECT audit.close_batch(1, 'loaded', 0, 0, 0, 0, 0, NULL, NULL)", role)
    with psycopg.connect(libpq(roles_db["admin"])) as conn:
        row = conn.execute("SELECT rows_quarantined FROM audit.ingest_log WHERE batch_id = %s", (batch,)).fetchone()
    assert row[0] > 0
    outcome.update(outcome="every rewrite denied; a closed batch cannot be closed again; counts unchanged", ok=True)


@pytest.mark.pg
@pytest.mark.timeout(300)
def test_department_writer_touches_only_its_department(roles_db: dict, monkeypatch: pytest.MonkeyPatch,
                                                       outcome: dict) -> None:
    """Issue 15, defect 6: a LOGIN user in citydata_ingest_water loads water's deliveries and cannot read or change health's data: core, quarantined raw values, audit rewrites."""
    import psycopg

    from citydata.ingest import pipeline as ingest
    from citydata.mock.generate import generate
    from citydata.registry import load_registry

    base, _, db = roles_db["admin"].rpartition("/")
    user = f"cdt_water_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq(roles_db["admin"]), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {user} LOGIN IN ROLE citydata_ingest_water")
    url = base.replace("://postgres@", f"://{user}@") + "/" + db
    outcome["injected"] = ("as citydata_ingest_water: a real water ingest, then SELECT/UPDATE/DELETE on health core, "
                           "SELECT health's quarantined rows, UPDATE audit")
    try:
        monkeypatch.setenv("CITYDATA_WAREHOUSE_URL", url)
        reg = load_registry()
        ingest._READY.add((url, str(reg.path)))
        generate(reg, "water", resources=["meter_readings"], rows=40, seed=13, defect_rate=0.2)
        records = ingest.ingest_department("water")
        assert [r.status for r in records] == ["partial"] and records[0].rows_quarantined > 0
        for sql in ("SELECT citizen_id FROM core.health__card_visits", "UPDATE core.health__card_visits SET phone = ''",
                    "DELETE FROM core.water__meter_readings", "SELECT * FROM share.health__institutions",
                    "UPDATE audit.ingest_log SET reason = ''", "INSERT INTO core.health__institutions "
                    "(institution_id) VALUES ('x')"):
            assert _denied(url, sql), sql
        with psycopg.connect(libpq(url)) as conn:
            seen = conn.execute("SELECT department, COUNT(*) FROM quality.quarantine GROUP BY 1").fetchall()
            assert dict(seen).keys() == {"water"}, seen
        with psycopg.connect(libpq(roles_db["admin"])) as conn:
            health = conn.execute("SELECT COUNT(*) FROM quality.quarantine WHERE department = 'health'").fetchone()[0]
        assert health > 0  # there is health data to steal: the writer simply cannot see it
    finally:
        from citydata.warehouse.db import dispose_engines

        dispose_engines()
        with psycopg.connect(libpq(roles_db["admin"]), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (user,))
            admin.execute(f"DROP OWNED BY {user}")
            admin.execute(f"DROP ROLE {user}")
    outcome.update(outcome=f"water loaded ({records[0].rows_loaded} rows, {records[0].rows_quarantined} quarantined); "
                           "health core, health quarantine and audit rewrites all out of reach", ok=True)


def _plant_objections(admin_url: str) -> dict[str, int]:
    """As the owner: an open objection to a water reading (its digest matches no value, so the next
    water publication closes it as corrected) and one to a health institution (out of water's reach)."""
    import psycopg

    ids = {}
    with psycopg.connect(libpq(admin_url)) as conn:
        for dept, res, key, field in (("water", "meter_readings", '["SW0000000000", "2026-01-01T00:00:00Z"]',
                                       "reading_m3"), ("health", "institutions", '["H0"]', "name")):
            ids[dept] = conn.execute(
                "INSERT INTO meta.objections (consumer, department, resource, code, row_key, field, reason, status, "
                "value_digest, raised_at) VALUES ('housing', %s, %s, 'x', %s, %s, 'reason', 'open', 'no-such-digest', "
                "now()) RETURNING objection_id", (dept, res, key, field)).fetchone()[0]
    return ids


PUBLISH_DENIED = (
    "SELECT * FROM share.health__institutions", "INSERT INTO share.health__institutions (institution_id, _batch_id, "
    "_t_published) VALUES ('x', 1, now())", "SELECT * FROM share.health__card_visits",
    "SELECT token_hash FROM meta.exchange_consumers", "INSERT INTO meta.exchange_consumers (consumer, token_hash, "
    "created_at) VALUES ('x', 'y', now())", "SELECT * FROM meta.access_requests",
    "UPDATE meta.access_requests SET status = 'approved'", "SELECT * FROM audit.access_log",
    "INSERT INTO audit.access_log (t_request, method, path, status) VALUES (now(), 'GET', '/', 200)",
    "SELECT consumer, reason FROM meta.objections", "DELETE FROM audit.publish_log",
    "UPDATE audit.publish_log SET rows_published = 0", "DROP TABLE share.water__meter_readings",
)


@pytest.mark.pg
@pytest.mark.timeout(300)
@pytest.mark.parametrize("group", ["citydata_ingest_water", "citydata_ingest_writer"])
def test_loading_role_publishes_what_it_loads(group: str, roles_db: dict, monkeypatch: pytest.MonkeyPatch,
                                              outcome: dict) -> None:
    """Issue 15 leftover: the ingest DAG's task (tasks.ingest_path) loads and then publishes. As a LOGIN
    user in a loading role both steps succeed; the role still cannot read or write another department's
    share tables, nor any exchange table (consumers, tokens, requests, access log, objections' texts)."""
    import psycopg

    from citydata.config import settings
    from citydata.ingest import tasks
    from citydata.mock.generate import generate
    from citydata.registry import load_registry

    admin = roles_db["admin"]
    objections = _plant_objections(admin)
    outcome["injected"] = (f"as {group}: tasks.ingest_path on a water file (load + publish), then health share "
                           "tables and the exchange tables")
    with _login_user(admin, group) as url:
        monkeypatch.setenv("CITYDATA_WAREHOUSE_URL", url)
        generate(load_registry(), "water", resources=["meter_readings"], rows=40, seed=14)
        [handle] = tasks.list_waiting("water")
        record = tasks.ingest_path("water", handle, run_id="manual__roles")
        assert settings().warehouse_url == url
        assert record["status"] in ("loaded", "partial") and record["published"] > 0, record
        for sql in PUBLISH_DENIED if group != "citydata_ingest_writer" else PUBLISH_DENIED[3:]:
            assert _denied(url, sql), sql
        with psycopg.connect(libpq(url)) as conn:
            logged = conn.execute("SELECT DISTINCT department FROM audit.publish_log").fetchall()
            assert ("water",) in logged
            if group != "citydata_ingest_writer":
                assert logged == [("water",)], "a department role sees its own publish log rows only"
    with psycopg.connect(libpq(admin)) as conn:
        shared = conn.execute("SELECT COUNT(*) FROM share.water__meter_readings WHERE _batch_id = %s",
                              (record["batch_id"],)).fetchone()[0]
        status = dict(conn.execute("SELECT department, status FROM meta.objections WHERE objection_id = ANY(%s)",
                                   (list(objections.values()),)).fetchall())
    assert shared == record["published"]
    assert status == {"water": "corrected", "health": "open"}
    outcome.update(outcome=f"{record['status']}, {shared} rows published as {group}; the water objection closed; "
                           "health share and exchange tables denied", ok=True)


OPEN_ROW = ("INSERT INTO audit.ingest_log (department, resource, source_kind, source, checksum, status, run_id, "
            "started_at) VALUES ('water', 'meters', 'file', 'water/meters/x.csv', 'c0ffee', %s, NULL, now()) "
            "RETURNING batch_id")


@pytest.mark.pg
@pytest.mark.timeout(180)
@pytest.mark.parametrize("group", ["citydata_ingest_water", "citydata_ingest_writer"])
def test_loading_role_cannot_forge_a_closed_audit_row(group: str, roles_db: dict, outcome: dict) -> None:
    """Issue 15 leftover: the loading roles may insert the status column (to open a row), but a new
    row that is not 'loading' (a 'loaded' or 'rejected' row never opened nor closed) is refused by
    the audit.ingest_log_open_only trigger; the owner (who may UPDATE the table) still can."""
    import psycopg

    admin = roles_db["admin"]
    outcome["injected"] = f"as {group}: INSERT audit rows already loaded/rejected, with only the granted columns"
    with _login_user(admin, group) as url:
        for forged in ("loaded", "rejected", "partial", None):
            with psycopg.connect(libpq(url)) as conn:
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="opened with status loading"):
                    conn.execute(OPEN_ROW, (forged,))
        with psycopg.connect(libpq(url)) as conn:
            batch = conn.execute(OPEN_ROW, ("loading",)).fetchone()[0]
            conn.execute("SELECT audit.close_batch(%s, 'loaded', 1, 1, 0, 0, 0, NULL, now())", (batch,))
    with psycopg.connect(libpq(admin)) as conn:
        assert conn.execute("SELECT status FROM audit.ingest_log WHERE batch_id = %s", (batch,)).fetchone() == (
            "loaded",)
        owner_row = conn.execute(OPEN_ROW, ("loaded",)).fetchone()[0]  # the owner (fixtures, migrations) may
        conn.rollback()
    assert owner_row
    outcome.update(outcome="forged closed rows refused by the trigger; opening and closing through close_batch "
                           "still work; the owner is not affected", ok=True)


@pytest.mark.pg
@pytest.mark.timeout(180)
def test_dashboard_reader_reads_indicators_only(roles_db: dict, outcome: dict) -> None:
    dash = roles_db["dashboard"]
    outcome["injected"] = "SELECT personal data and writes as the dashboard reader"
    assert not _denied(dash, "SELECT COUNT(*) FROM audit.ingest_log")
    for sql in ("SELECT citizen_id FROM core.health__card_visits", "SELECT record FROM quality.quarantine",
                "SELECT * FROM share.health__card_visits", "DELETE FROM audit.ingest_log",
                "INSERT INTO audit.ingest_log (department) VALUES ('x')"):
        assert _denied(dash, sql), sql
    outcome.update(outcome="reads the ingest log and kpi; core, quarantine, share and writes denied", ok=True)


# --- masking: no raw citizen ID in any artefact outside the warehouse ---------------------------

def _citizen_ids(landing: Path) -> set[str]:
    import csv

    ids = set()
    for path in landing.rglob("*.csv"):
        with path.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                v = (row.get("citizen_id") or "").strip()
                if len(v) >= 15:
                    ids.add(v)
    return ids


@pytest.mark.timeout(300)
def test_citizen_ids_never_leave_the_warehouse_unmasked(home: Path, caplog: pytest.LogCaptureFixture,
                                                        outcome: dict) -> None:
    """Health ingest with generated citizen IDs (some rows defective, one file rejected), then sharing,
    quality emails to the outbox and reports: grep every file of the run and the logs for the raw IDs."""
    import logging

    from citydata.config import settings
    from citydata.ingest.pipeline import ingest_department
    from citydata.mock.generate import generate
    from citydata.notify import outbox
    from citydata.notify.service import prepare_department
    from citydata.registry import load_registry
    from citydata.share.publish import publish_department

    caplog.set_level(logging.DEBUG)
    cfg = settings()
    reg = load_registry()
    generate(reg, "health", resources=["card_visits"], rows=80, seed=21, defect_rate=0.2)
    good = generate(reg, "health", resources=["card_visits"], rows=5, seed=22)[0]
    # A file whose bad row (ragged) carries an ID: the rejection reason must not quote it.
    lines = good.read_text(encoding="utf-8").splitlines()
    ragged = good.with_name("ragged.csv")
    ragged.write_text("\n".join([*lines, lines[1].rsplit(",", 3)[0]]) + "\n", encoding="utf-8")
    ids = _citizen_ids(cfg.landing_dir)
    assert len(ids) >= 50
    outcome["injected"] = f"{len(ids)} generated citizen IDs through ingest, quarantine, rejection, share, email"
    records = ingest_department("health")
    assert any(r.status == "rejected" for r in records) and any(r.rows_quarantined for r in records)
    publish_department(reg, "health", cfg.warehouse_url, cfg)
    prepare_department("health", registry=reg)
    outbox.deliver(cfg.warehouse_url, outbox.outbox_sender(cfg.outbox_dir), transport="outbox", department="health")
    assert list(cfg.outbox_dir.rglob("*.eml")), "the quality email was written to the outbox"

    skip = {"warehouse.db", "warehouse.db-wal", "warehouse.db-shm"}
    artefacts = [p for p in cfg.home.rglob("*") if p.is_file() and p.name not in skip
                 and cfg.landing_dir not in p.parents and cfg.archive_dir not in p.parents
                 and not (cfg.rejected_dir in p.parents and not p.name.endswith(".error.json"))]
    leaks = []
    pattern = re.compile("|".join(map(re.escape, sorted(ids))))
    for path in artefacts:
        data = path.read_bytes()
        if path.suffix == ".eml":
            import email

            msg = email.message_from_bytes(data)
            data = b"".join((part.get_payload(decode=True) or b"") for part in msg.walk() if not part.is_multipart())
        body = data.decode("utf-8", "replace")
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            body = json.dumps(pq.read_table(path).to_pylist(), ensure_ascii=False, default=str)
        if m := pattern.search(body):
            leaks.append(f"{path.relative_to(cfg.home)}: {m.group(0)[:6]}…")
    if m := pattern.search(caplog.text):
        leaks.append(f"log: {m.group(0)[:6]}…")
    kinds = sorted({p.suffix or p.name for p in artefacts})
    assert not leaks, "raw citizen IDs outside the warehouse:\n" + "\n".join(leaks)
    assert any(p.suffix == ".parquet" for p in artefacts) and any(p.name.endswith(".error.json") for p in artefacts)
    outcome.update(outcome=f"0 raw IDs in {len(artefacts)} artefacts ({', '.join(kinds)}) and the logs", ok=True)
