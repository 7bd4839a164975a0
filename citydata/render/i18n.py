"""The one language-code scheme of every user-facing text: "zh-CN" (default) and "en".

The dashboard's URLs have long accepted ``?lang=zh``; that alias is resolved at the HTTP edge
(``http_lang``) and nowhere else.
"""

from __future__ import annotations

from typing import Literal

from citydata.errors import CitydataError

ZH_CN = "zh-CN"
EN = "en"
LANGS = (ZH_CN, EN)
DEFAULT_LANG = ZH_CN
Lang = Literal["zh-CN", "en"]


def check_lang(lang: str | None) -> str:
    """The canonical code ("zh-CN" or "en"; any case); None gives the default; else a one-line error."""
    if lang is None:
        return DEFAULT_LANG
    for known in LANGS:
        if lang.lower() == known.lower():
            return known
    raise CitydataError(f"unknown language {lang!r}: use {' or '.join(LANGS)}")


def http_lang(lang: str | None) -> str:
    """A language from a URL or header: "zh", "zh-*" and "en-*" map to the canonical codes."""
    low = (lang or DEFAULT_LANG).lower()
    if low.startswith("zh"):
        return ZH_CN
    if low.startswith("en"):
        return EN
    return check_lang(lang)


def is_zh(lang: str) -> bool:
    return lang == ZH_CN
