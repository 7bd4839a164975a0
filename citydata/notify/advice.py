"""What a department should fix, per kind of failed check, in plain words.

Check names come from the built-in checks (``type:<column>``, ``required:<column>``) and from
the Great Expectations suites (expectation types such as
``expect_column_values_to_be_between``); both map onto a few kinds people understand.
"""

from __future__ import annotations

# (kind, substrings of the check name that identify it), first match wins.
_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("required", ("required", "not_be_null", "null")),
    ("type", ("type:", "of_type", "type_list", "parse")),
    ("citizen_id", ("citizen_id", "idcard")),
    ("unique", ("unique", "duplicate")),
    ("future", ("future",)),
    ("stale", ("old", "late", "age", "stale", "recent")),
    ("range", ("between", "range", "min", "max", "greater", "less", "not_exceed", "capacity")),
    ("set", ("in_set", "set", "code", "township")),
    ("format", ("regex", "match", "format", "pattern", "plate", "length")),
    ("row_count", ("row_count", "rowcount")),
    ("schema", ("column_to_exist", "columns", "schema", "header")),
)

_ADVICE = {
    "zh-CN": {
        "citizen_id": "公民身份证号码无效（位数、出生日期或校验位不正确）。请与原始证件核对后更正。",
        "required": "必填字段为空。请补齐该字段后重新提交这些数据行。",
        "type": "字段值的格式与类型不符（如日期时间、数字写法不正确）。时间请用“YYYY-MM-DD HH:MM:SS”，数字不要带单位或千分位。",
        "unique": "主键重复：同一编号出现多次。请去除重复记录，或确认编号规则后重新提交。",
        "future": "事件时间晚于当前时间。请检查设备或系统时钟、时区（应为北京时间）。",
        "stale": "事件时间过早（超过允许的迟到时间）。请确认是否为补报的历史数据；如是，请与县大数据中心联系。",
        "range": "数值超出合理范围（如读数为负数、电量超过 100%、占用数大于总泊位）。请核对设备或录入数据。",
        "set": "取值不在规定的代码表内（如乡镇街道名称、状态代码）。请使用资源目录规定的代码值。",
        "format": "编号或号码格式不正确（如表号、车牌号）。请按资源目录规定的格式填写。",
        "plate": "车牌号不是本地（鲁Q）车牌或格式不正确。请核对车牌识别结果；外地车辆请确认是否如实记录。",
        "order": "时间先后顺序不合理（如出场时间早于入场时间）。请检查设备时钟和记录逻辑。",
        "row_count": "文件行数不在预期范围内。请确认导出是否完整。",
        "schema": "文件的列与资源目录不一致（缺列、多列或列名变化）。请按资源目录的字段清单导出。",
        "other": "数据未通过该项检查。请核对示例行并更正后重新提交。",
    },
    "en": {
        "citizen_id": "Invalid citizen ID number (length, birth date or check digit). Check it against the source.",
        "required": "A required value is missing. Fill it in and deliver these rows again.",
        "type": "The value does not match the field's type (e.g. date-time or number format). Use "
                "'YYYY-MM-DD HH:MM:SS' for times and plain numbers without units.",
        "unique": "Duplicate primary key: the same ID appears more than once. Remove the duplicates.",
        "future": "The event time is in the future. Check the device or system clock and time zone (Beijing time).",
        "stale": "The event time is older than allowed. If this is a late back-fill, contact the data center.",
        "range": "The value is out of range (e.g. negative reading, battery over 100%, occupancy over capacity).",
        "set": "The value is not one of the allowed codes (e.g. township name, status code).",
        "format": "The ID or number has the wrong format (e.g. meter ID, licence plate).",
        "plate": "The licence plate is not a local (鲁Q) plate or is malformed. Check the plate recognition.",
        "order": "Times are out of order (e.g. exit before entry). Check the device clock and the recording logic.",
        "row_count": "The number of rows is outside the expected range. Check that the export is complete.",
        "schema": "The columns differ from the catalogue (missing, extra or renamed). Export the catalogued fields.",
        "other": "The rows failed this check. Look at the samples, correct them and deliver again.",
    },
}

_REJECT = {
    "zh-CN": {
        "missing required column": "文件缺少必需的列，整个文件未入库。请按资源目录的字段清单导出完整表头后重新提交。",
        "too many bad rows": "问题行比例超过允许的上限，整个文件未入库。请修正问题后重新提交整个文件。",
        "batch check failed": "文件整体检查未通过（如行数或结构异常），整个文件未入库。请核对导出程序后重新提交。",
        "not accepted": "请把文件放入“原因”中列出的数据资源目录之一（landing/部门/资源/），文件类型为 csv、jsonl、json 或 "
                        "parquet，然后重新提交。",
        "not a text file": "请从业务系统导出为 CSV（UTF-8）、JSON Lines、JSON 或 Parquet 后重新提交，不要直接提交 Excel 工作簿或压缩包。",
        "unsupported encoding": "请将文件另存为 UTF-8（或 GBK）编码后重新提交。",
        "invalid encoding": "请将文件另存为 UTF-8（或 GBK）编码后重新提交。",
        "source unavailable": "平台会在下一次运行时自动重试；如持续失败，请检查贵单位接口或数据库服务是否正常。",
        "duplicate": "与已入库的文件内容完全相同，未重复入库。",
        "other": "文件无法读取（编码、格式错误或内容不完整），整个文件未入库。请使用 UTF-8 编码并确认文件完整后重新提交。",
    },
    "en": {
        "missing required column": "Required columns are missing; nothing was loaded. Export every catalogued column and "
                                   "deliver again.",
        "too many bad rows": "Too many rows failed the checks; nothing was loaded. Fix them and deliver the whole file again.",
        "batch check failed": "A file-level check failed (e.g. row count or structure); nothing was loaded.",
        "not accepted": "Move the file into one of the resource folders listed in the reason "
                        "(landing/<department>/<resource>/) as csv, jsonl, json or parquet.",
        "not a text file": "Export CSV (UTF-8), JSON Lines, JSON or Parquet from the source system; do not deliver "
                           "Excel workbooks or archives.",
        "unsupported encoding": "Save the file as UTF-8 (or GBK) and deliver it again.",
        "invalid encoding": "Save the file as UTF-8 (or GBK) and deliver it again.",
        "source unavailable": "The platform retries at its next run; if it keeps failing, check your API or database.",
        "duplicate": "Same content as a file already loaded; not loaded twice.",
        "other": "The file could not be read (encoding, format or truncated content); nothing was loaded. Use UTF-8 and "
                 "check the file is complete.",
    },
}


# The quality suites name checks '<kind>:<column>'; their kinds map directly.
_PREFIXES = {
    "columns": "schema", "row_count": "row_count", "not_null": "required", "required": "required", "type": "type",
    "unique": "unique", "future": "future", "late": "stale", "format": "format", "length": "format",
    "idcard": "citizen_id", "code": "set", "range": "range", "linyi": "plate", "order": "order",
}


def check_kind(check: str) -> str:
    name = check.lower()
    if ":" in name and name.split(":", 1)[0] in _PREFIXES:
        return _PREFIXES[name.split(":", 1)[0]]
    for kind, needles in _KINDS:
        if any(n in name for n in needles):
            return kind
    return "other"


def check_advice(check: str, lang: str = "zh-CN") -> str:
    table = _ADVICE.get(lang, _ADVICE["zh-CN"])
    return table[check_kind(check)]


def rejection_advice(reason: str | None, lang: str = "zh-CN") -> str:
    table = _REJECT.get(lang, _REJECT["zh-CN"])
    text = (reason or "").lower()
    for prefix, advice in table.items():
        if prefix != "other" and text.startswith(prefix):
            return advice
    return table["other"]
