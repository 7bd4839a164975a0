"""The dashboard inside a real `airflow api-server`: plugin registration, authentication with
tokens issued by Airflow's auth manager, the JSON API against a real warehouse, and the page
in headless Chromium (logged in through Airflow's login form), with screenshots saved under
test-artifacts/.

One api-server (temp AIRFLOW_HOME, SQLite metadata DB, simple auth manager with a viewer
user) and one PostgreSQL warehouse serve the whole module.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from citydata.app.airflow_env import airflow_bin, airflow_environ
from tests.helpers import (
    RUN_ID,
    citydata_home,
    cli_kpis,
    fill_warehouse,
    headless_chromium,
    pg_database,
    reserve_port,
    wait_until,
)

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
VIEWER = "viewer"


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/v2/monitor/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def server(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("dash_server")
    password = uuid.uuid4().hex
    af_home = root / "airflow"
    af_home.mkdir()
    (af_home / "passwords.json").write_text(json.dumps({VIEWER: password}))
    procs: list[subprocess.Popen] = []
    with pg_database(pg_server, "cdt_dash") as warehouse_url:  # dropped after the servers stopped
        try:
            with citydata_home(root / "home") as mp:
                mp.setenv("CITYDATA_WAREHOUSE_URL", warehouse_url)
                mp.setenv("AIRFLOW_HOME", str(af_home))
                env = airflow_environ()
                env.update({
                    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{af_home / 'airflow.db'}",
                    "AIRFLOW__CORE__AUTH_MANAGER":
                        "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
                    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{VIEWER}:viewer",
                    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
                    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(af_home / "passwords.json"),
                    "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
                    "AIRFLOW__API__SECRET_KEY": uuid.uuid4().hex,
                    "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
                    "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
                })
                # Migrating the metadata DB and filling the warehouse run side by side.
                migrate_log = root / "migrate.log"
                with migrate_log.open("w") as fh:
                    migrate = subprocess.Popen([airflow_bin(), "db", "migrate"], env=env, stdout=fh,
                                               stderr=subprocess.STDOUT,
                                               start_new_session=True)
                procs.append(migrate)
                fill_warehouse()
                wait_until(lambda: migrate.poll() is not None, 120, "airflow db migrate", log=migrate_log, interval=0.3)
                assert migrate.returncode == 0, migrate_log.read_text()[-3000:]

                log = root / "api-server.log"
                for attempt in range(3):  # Airflow binds the port itself: retry if another process took it meanwhile
                    with reserve_port() as held:
                        port = held.getsockname()[1]
                    with log.open("w") as fh:
                        api = subprocess.Popen([airflow_bin(), "api-server", "--host", "127.0.0.1", "--port", str(port),
                                                "--workers", "1", "--apps", "core"],
                                               env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
                    procs.append(api)
                    url = f"http://127.0.0.1:{port}"
                    try:
                        wait_until(lambda: _healthy(url), 90, "airflow api-server", proc=api, log=log, interval=0.3)  # noqa: B023
                        break
                    except AssertionError:
                        if api.poll() is None or attempt == 2:
                            raise
                yield {"url": url, "password": password, "log": log}
        finally:
            for proc in procs:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
                    try:
                        proc.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        os.killpg(proc.pid, signal.SIGKILL)
                        proc.wait()


def token(server: dict) -> str:
    """A JWT issued by Airflow's auth manager through its login endpoint."""
    r = httpx.post(f"{server['url']}/auth/token", json={"username": VIEWER, "password": server["password"]}, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()["access_token"]


@pytest.mark.pg
def test_plugin_is_in_the_airflow_navigation(server: dict) -> None:
    r = httpx.get(f"{server['url']}/api/v2/plugins", headers={"Authorization": f"Bearer {token(server)}"}, timeout=10)
    assert r.status_code == 200, r.text
    [plugin] = [p for p in r.json()["plugins"] if p["name"] == "citydata_dashboard"]
    assert plugin["fastapi_apps"][0]["url_prefix"] == "/citydata"
    [view] = plugin["external_views"]
    assert (view["name"], view["href"], view["destination"]) == ("数据汇聚指标", "/citydata/", "nav")
    assert httpx.get(f"{server['url']}{view['icon']}", timeout=10).headers["content-type"].startswith("image/svg")


@pytest.mark.pg
@pytest.mark.parametrize("path", ["/citydata/", "/citydata/api/kpi", "/citydata/api/dashboard",
                                  "/citydata/api/freshness", "/citydata/api/runs"])
def test_every_route_needs_an_airflow_login(server: dict, path: str) -> None:
    url = server["url"] + path
    assert httpx.get(url, timeout=30).status_code == 401
    bad = httpx.get(url, headers={"Authorization": "Bearer not-a-jwt"}, timeout=30)
    assert bad.status_code == 401
    forged = token(server)[:-4] + "AAAA"  # signature no longer matches
    assert httpx.get(url, cookies={"_token": forged}, timeout=30).status_code == 401
    good = token(server)
    assert httpx.get(url, headers={"Authorization": f"Bearer {good}"}, timeout=60).status_code == 200
    assert httpx.get(url, cookies={"_token": good}, timeout=60).status_code == 200  # the UI's session cookie


@pytest.mark.pg
def test_browser_without_session_gets_a_login_link(server: dict) -> None:
    r = httpx.get(f"{server['url']}/citydata/?lang=en", headers={"Accept": "text/html"}, timeout=10)
    assert r.status_code == 401 and "text/html" in r.headers["content-type"]
    assert 'href="/auth/login?next=' in r.text and "Please log in" in r.text


@pytest.mark.pg
def test_nothing_writes(server: dict) -> None:
    headers = {"Authorization": f"Bearer {token(server)}"}
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = httpx.request(method, f"{server['url']}/citydata/api/kpi", headers=headers, timeout=10)
        assert r.status_code == 405, method


@pytest.mark.pg
def test_api_numbers_equal_the_cli(server: dict) -> None:
    headers = {"Authorization": f"Bearer {token(server)}"}
    for period in ("day", "month"):
        cli = cli_kpis("--period", period, separate_process=True)  # computes the period in progress, stores it
        api = httpx.get(f"{server['url']}/citydata/api/kpi", params={"period": period}, headers=headers, timeout=60)
        assert api.status_code == 200, api.text
        assert api.json() == cli
    model = httpx.get(f"{server['url']}/citydata/api/dashboard", params={"period": "month"}, headers=headers,
                      timeout=60).json()
    assert model["kpis"] == cli
    water = [r for r in model["runs"] if r["department"] == "water"]
    assert water and water[0]["url"] == f"/dags/ingest_water/runs/{quote(RUN_ID, safe='')}"
    bad = httpx.get(f"{server['url']}/citydata/api/kpi", params={"period": "week"}, headers=headers, timeout=10)
    assert bad.status_code == 422
    future = httpx.get(f"{server['url']}/citydata/api/kpi", params={"period": "day", "date": "2999-01-01"},
                       headers=headers, timeout=10)
    assert future.status_code == 400 and "has not started yet" in future.json()["detail"]


@pytest.mark.pg
@pytest.mark.timeout(300)
def test_page_in_headless_chromium(server: dict) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    from citydata.render.fmt import pct

    cli = {r["department"]: r for r in cli_kpis("--period", "month")}
    driver, profile = headless_chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        # A page replaced while it is read (the login redirects, the UI re-renders) is read again.
        wait = WebDriverWait(driver, 30, ignored_exceptions=(StaleElementReferenceException,))
        # Not logged in: the page says so and links to Airflow's login, which comes back here.
        driver.get(f"{server['url']}/citydata/?period=month")
        driver.find_element(By.ID, "login").click()
        wait.until(lambda d: d.find_elements(By.NAME, "username"))
        driver.find_element(By.NAME, "username").send_keys(VIEWER)
        driver.find_element(By.NAME, "password").send_keys(server["password"] + Keys.ENTER)
        wait.until(lambda d: d.find_elements(By.ID, "county"))
        assert driver.title == "数据汇聚指标"
        county = driver.find_element(By.ID, "county")
        for metric in ("collection_rate", "sharing_rate"):
            box = county.find_element(By.CSS_SELECTOR, f'[data-metric="{metric}"]')
            assert box.text == pct(cli["county"][metric])
        for key, row in cli.items():
            for metric in ("collection_rate", "sharing_rate"):
                selector = f'#chart-rates text[data-key="{key}"][data-metric="{metric}"]'
                bar = driver.find_element(By.CSS_SELECTOR, selector)
                assert bar.text == pct(row[metric]), (key, metric)
                assert bar.get_attribute("data-value") == ("" if row[metric] is None else repr(float(row[metric])))
        pooled = next(e for e in cli["county"]["energy_by_utility"] if e["utility"] == "pooled")
        assert driver.find_element(By.CSS_SELECTOR, '#county [data-metric="coverage"]').text == pct(pooled["coverage"])
        assert driver.find_element(By.ID, "period-key").text == cli["county"]["period"]
        link = driver.find_element(By.CSS_SELECTOR, "#runs-table a[data-run-id]")
        assert link.get_attribute("data-run-id") == RUN_ID
        assert link.get_attribute("href").endswith(f"/dags/ingest_water/runs/{quote(RUN_ID, safe='')}")
        driver.save_screenshot(str(ARTIFACTS / "dashboard_zh.png"))

        driver.find_element(By.ID, "lang-switch").click()
        wait.until(lambda d: d.title == "Data aggregation indicators")
        assert "Real-time collection rate" in driver.find_element(By.ID, "county").text
        driver.save_screenshot(str(ARTIFACTS / "dashboard_en.png"))

        # Inside the Airflow UI: the nav entry opens the page in the UI's frame.
        driver.get(f"{server['url']}/plugin/citydata")
        frame = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "iframe"))[0]
        driver.switch_to.frame(frame)
        wait.until(lambda d: d.find_elements(By.ID, "county"))
        box = driver.find_element(By.CSS_SELECTOR, '#county [data-metric="collection_rate"]')
        assert box.text == pct(cli["county"]["collection_rate"])
        driver.switch_to.default_content()
        driver.save_screenshot(str(ARTIFACTS / "dashboard_in_airflow_ui.png"))
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.pg
@pytest.mark.timeout(900)  # the module's api-server may start in this test
def test_airflow_ui_opens_in_chinese_and_beijing_time_from_an_english_utc_browser(server: dict) -> None:
    """Airflow 3.3 keeps the UI's language and zone in the browser: /citydata/ui-defaults stores
    zh-CN and Asia/Shanghai there (the engineer's own later choice is kept), then opens the UI."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    driver, profile = headless_chromium(lang="en-US", tz="UTC")
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        # A page replaced while it is read (the login redirects, the UI re-renders) is read again.
        wait = WebDriverWait(driver, 60, ignored_exceptions=(StaleElementReferenceException,))
        driver.get(f"{server['url']}/citydata/ui-defaults")
        wait.until(lambda d: d.find_elements(By.NAME, "username"))  # the UI, asking for a login
        driver.find_element(By.NAME, "username").send_keys(VIEWER)
        driver.find_element(By.NAME, "password").send_keys(server["password"] + Keys.ENTER)
        wait.until(lambda d: "首页" in d.find_element(By.TAG_NAME, "body").text)
        assert driver.execute_script("return Intl.DateTimeFormat().resolvedOptions().timeZone") == "UTC"
        assert driver.execute_script("return localStorage.getItem('i18nextLng')") == "zh-CN"
        assert driver.execute_script("return JSON.parse(localStorage.getItem('timezone'))") == "Asia/Shanghai"
        wait.until(lambda d: "+08:00" in d.find_element(By.TAG_NAME, "body").text)  # the UI's clock: Beijing time
        driver.save_screenshot(str(ARTIFACTS / "airflow_ui_zh_beijing.png"))
        # An engineer's own choice stays; ?force=1 restores the county's defaults.
        driver.execute_script("localStorage.setItem('i18nextLng', 'en'); localStorage.setItem('timezone', '\"UTC\"')")
        driver.get(f"{server['url']}/citydata/ui-defaults")
        wait.until(lambda d: "Home" in d.find_element(By.TAG_NAME, "body").text)
        assert driver.execute_script("return localStorage.getItem('i18nextLng')") == "en"
        driver.get(f"{server['url']}/citydata/ui-defaults?force=1")
        wait.until(lambda d: "首页" in d.find_element(By.TAG_NAME, "body").text)
        assert driver.execute_script("return JSON.parse(localStorage.getItem('timezone'))") == "Asia/Shanghai"
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.pg
def test_language_codes_at_the_http_edge(server: dict) -> None:
    """One scheme inside ("zh-CN", "en"); the page's first scheme, ?lang=zh, still works at the edge."""
    headers = {"Authorization": f"Bearer {token(server)}"}
    for asked, canonical in (("zh", "zh-CN"), ("zh-CN", "zh-CN"), ("en", "en")):
        r = httpx.get(f"{server['url']}/citydata/api/dashboard", params={"period": "day", "lang": asked},
                      headers=headers, timeout=60)
        assert r.status_code == 200, r.text
        assert r.json()["lang"] == canonical
    page = httpx.get(f"{server['url']}/citydata/", params={"lang": "zh"}, headers=headers, timeout=60)
    assert '<html lang="zh-CN">' in page.text and "lang=en" in page.text
    assert httpx.get(f"{server['url']}/citydata/api/freshness", params={"lang": "fr"}, headers=headers,
                     timeout=10).status_code == 422
