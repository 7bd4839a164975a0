"""Chinese-first texts for what departments read about a delivery (.error.json, the email's 说明/原因).

The ingest stage records reasons as short English codes followed by details ("not a text file:
the content is …", "too many bad rows: 7 of 10 rows failed …"); engineers keep reading those in
the audit. A department reads the text made here: Chinese first, fields by their Chinese names
from the registry (累计读数(立方米)（reading_m3）), the English code kept in brackets for the
engineer they call, and — for a file in the wrong folder — the resource folders that are valid.
Only what the registry knows is spelled out: details that could carry delivered content (header
cells, values, parser messages) or internal addresses are never copied into these texts.
"""

from __future__ import annotations

import re

from citydata.registry import Department, Resource

# Rejection codes (citydata.errors.FileRejected.reason, the audit reason before the first ':').
REJECTIONS: dict[str, tuple[str, str]] = {
    "not accepted": ("文件放置位置或名称不被接受", "the file's place or name is not accepted"),
    "unsupported file type": ("文件类型不受支持（应为 csv、jsonl、json 或 parquet）",
                              "unsupported file type (use csv, jsonl, json or parquet)"),
    "not a text file": ("文件不是文本文件（如 Excel 工作簿、ZIP 压缩包），请导出为 CSV、JSON Lines、JSON 或 Parquet",
                        "not a text file (e.g. an Excel workbook or ZIP archive); export CSV, JSON Lines, JSON or Parquet"),
    "unsupported encoding": ("文件编码不受支持（如 UTF-16），请使用 UTF-8 或 GBK 编码",
                             "unsupported encoding (e.g. UTF-16); use UTF-8 or GBK"),
    "invalid encoding": ("文件编码无法识别（既不是 UTF-8 也不是 GBK/GB18030）", "neither UTF-8 nor GBK/GB18030"),
    "mixed encodings": ("文件混用了多种编码，请整个文件使用同一种编码（UTF-8 或 GBK）", "mixed encodings in one file"),
    "binary content": ("文件含有二进制内容（NUL 字节），不是文本文件", "binary content (NUL bytes)"),
    "duplicated column": ("表头中有重复的列名", "a column name appears twice in the header"),
    "empty column name": ("表头中有空的列名", "the header has an empty column name"),
    "empty file": ("文件为空（没有表头行）", "empty file (no header row)"),
    "unreadable header": ("表头无法读取", "the header cannot be read"),
    "wrong delimiter": ("列分隔符不是英文逗号，请导出为逗号分隔的 CSV", "the columns are not separated by commas"),
    "unparseable CSV": ("CSV 格式错误（某行的列数与表头不一致或引号不匹配）",
                        "malformed CSV (a row's column count differs from the header, or quotes do not match)"),
    "unbalanced quotes": ("引号不成对，文件可能不完整（被截断）", "unbalanced quotes: the file may be truncated"),
    "conflicting keys": ("JSON 对象中有只差大小写的重复键名", "JSON keys that differ only by letter case"),
    "not a JSON object": ("JSON 的每一行应为一个对象", "each JSON line must be an object"),
    "invalid JSON": ("JSON 格式错误或嵌套过深", "invalid JSON or nested too deeply"),
    "invalid JSON layout": ("JSON 结构不对（应为对象数组）", "the JSON is not an array of objects"),
    "unreadable Parquet": ("Parquet 文件无法读取（可能不完整）", "the Parquet file cannot be read (truncated?)"),
    "unreadable file": ("文件无法读取", "the file cannot be read"),
    "missing required column(s)": ("缺少必需的列", "required columns are missing"),
    "too many bad rows": ("问题行比例超过允许的上限，整个文件未入库", "too many rows failed the checks; nothing was loaded"),
    "batch check failed": ("文件整体检查未通过（如行数或表头结构异常）", "a file-level check failed (row count or header)"),
    "source unavailable": ("数据来源接口或数据库暂时无法访问，平台会自动重试", "the source API or database was unavailable"),
}
_FOLDER = re.compile(r"folder '(?P<folder>[^']*)' is not a resource of department (?P<dept>\S+)")
_BAD_ROWS = re.compile(r"(?P<bad>\d+) of (?P<read>\d+) rows failed checks \(limit (?P<limit>[\d.]+%)\)")
_PLACES = {
    "file is not inside a resource folder": ("文件直接放在部门目录下，没有放入数据资源目录", "the file is not inside a resource folder"),
    "symbolic links are not accepted in the landing zone": ("不接受符号链接", "symbolic links are not accepted"),
    "not a regular file": ("不是普通文件", "not a regular file"),
    "control characters": ("文件名含有控制字符（如换行符），请重命名", "the file name contains control characters"),
}


def split_reason(reason: str | None) -> tuple[str, str]:
    """(code, details) of a stored reason 'code: details'."""
    code, _, details = (reason or "").partition(":")
    return code.strip(), details.strip()


def field_name(resource: Resource | None, column: str, lang: str = "zh-CN") -> str:
    """累计读数(立方米)（reading_m3） in Chinese, the column name in English."""
    spec = next((f for f in getattr(resource, "fields", ()) if f.name == column), None)
    if spec is None:
        return column
    return f"{spec.name_zh}（{column}）" if lang != "en" and spec.name_zh else column


def valid_folders(department: Department | None, lang: str = "zh-CN") -> str:
    """The resource folders a department may deliver into, e.g. landing/water/meters/（水表档案）."""
    if department is None:
        return ""
    sep = "、" if lang != "en" else ", "
    return sep.join(f"landing/{department.name}/{r.name}/" + (f"（{r.name_zh}）" if lang != "en" else f" ({r.name_en})")
                    for r in department.resources.values())


def _known(text: str, table: dict[str, tuple[str, str]], zh: bool) -> str | None:
    for needle, (z, e) in table.items():
        if needle in text:
            return z if zh else e
    return None


def rejection_text(code: str, details: str, *, department: Department | None = None,
                   resource: Resource | None = None, lang: str = "zh-CN") -> str:
    """Why a file was rejected, for the department: Chinese first, the English code in brackets."""
    zh = lang != "en"
    base = REJECTIONS.get(code)
    text = (base[0] if zh else base[1]) if base else ("文件未能入库" if zh else "the file was not loaded")
    extra = ""
    if code == "not accepted":
        place = _FOLDER.search(details)
        if place:
            extra = (f"：“{place['folder']}”不是本部门的数据资源目录" if zh else
                     f": '{place['folder']}' is not a resource folder of this department")
        else:
            known = _known(details, _PLACES, zh)
            extra = f"：{known}" if known and zh else (f": {known}" if known else "")
        folders = valid_folders(department, lang)
        if folders:
            extra += (f"。请放入以下目录之一：{folders}" if zh else f". Deliver into one of: {folders}")
    elif code == "missing required column(s)":
        names = [n.strip() for n in details.split(" not in header")[0].split(",") if n.strip()]
        known = [n for n in names if resource is not None and n in {f.name for f in resource.fields}]
        if known:
            sep = "、" if zh else ", "
            extra = ("：" if zh else ": ") + sep.join(field_name(resource, n, lang) for n in known)
    elif code == "too many bad rows":
        m = _BAD_ROWS.search(details)
        if m:
            extra = (f"（{m['read']} 行中 {m['bad']} 行未通过检查，上限 {m['limit']}）" if zh else
                     f" ({m['bad']} of {m['read']} rows failed, limit {m['limit']})")
    return f"{text}{extra}（{code or 'rejected'}）" if zh else f"{text}{extra} ({code or 'rejected'})"


def rejection_from_reason(reason: str | None, *, department: Department | None = None,
                          resource: Resource | None = None, lang: str = "zh-CN") -> str:
    code, details = split_reason(reason)
    return rejection_text(code, details, department=department, resource=resource, lang=lang)


_PULLS = {"http": ("接口拉取", "pulled from your API"), "sql": ("数据库拉取", "pulled from your database")}


def source_label(source: str, lang: str = "zh-CN") -> str:
    """A delivery as the department knows it: its file path, or 接口拉取 / 数据库拉取 for a pull — the
    platform's own address of the department's API or database is internal and never shown."""
    if "://" not in source:
        return source
    kind = "http" if source.startswith("http") and "#" not in source else "sql"
    return _PULLS[kind][0 if lang != "en" else 1]
