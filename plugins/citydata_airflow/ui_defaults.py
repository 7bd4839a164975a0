"""Chinese and Beijing time as the Airflow UI's defaults, set where Airflow 3.3 keeps them: the browser.

Airflow 3.3 has no server setting for either. Its React UI picks the language from the
browser's localStorage (``i18nextLng``), else the browser's language, and the time zone from
localStorage (``timezone``, JSON), else the browser's own zone. This page, served by the
api-server under the dashboard's prefix (same origin as the UI), stores zh-CN and
Asia/Shanghai where the engineer has not chosen yet, then opens the UI. The UI's own pickers
still change both; ``?force=1`` resets them to the county's defaults.
"""

from __future__ import annotations

import json

LANGUAGE = "zh-CN"
TIMEZONE = "Asia/Shanghai"


def page(ui_root: str, force: bool = False) -> str:
    """The HTML that stores the defaults and goes to the UI at ``ui_root`` (no data, no login needed)."""
    target = json.dumps((ui_root.rstrip("/") or "") + "/")
    cond = "true" if force else "false"
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>Airflow 界面默认设置</title></head>'
        "<body><p>正在设置 Airflow 界面：简体中文，北京时间（Asia/Shanghai）……</p><script>"
        f"var force = {cond};"
        f"if (force || !localStorage.getItem('i18nextLng')) localStorage.setItem('i18nextLng', {json.dumps(LANGUAGE)});"
        "if (force || !localStorage.getItem('timezone')) "
        f"localStorage.setItem('timezone', {json.dumps(json.dumps(TIMEZONE))});"
        f"location.replace({target});"
        "</script></body></html>"
    )
