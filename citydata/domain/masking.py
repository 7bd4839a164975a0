"""Mask personal values before they leave the warehouse (reports, emails, .error.json, sharing).

One helper for every outlet, driven by the registry's ``sensitive`` kind of each field, so a
value is masked the same way wherever it is shown. Masks keep just enough to be useful to
the department that owns the data (region of a citizen ID, a surname, the township).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from citydata.domain.townships import NAMES as TOWNSHIPS
from citydata.registry import Resource

STAR = "*"
# Two-character surnames (复姓) that keep both characters.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 端木 独孤 南宫 西门".split()
)


def mask_idcard(value: str) -> str:
    """371321199001011234 → 371321********1234 (region and check digit kept)."""
    if len(value) <= 10:
        return STAR * len(value)
    return value[:6] + STAR * (len(value) - 10) + value[-4:]


def mask_name(value: str) -> str:
    """张三丰 → 张**, 欧阳修 → 欧阳*."""
    keep = 2 if value[:2] in COMPOUND_SURNAMES and len(value) > 2 else 1
    return value[:keep] + STAR * max(len(value) - keep, 1)


def mask_phone(value: str) -> str:
    """13812341234 → 138****1234; anything else keeps only its last 4 characters."""
    if len(value) == 11 and value.isdigit():
        return value[:3] + STAR * 4 + value[-4:]
    return STAR * max(len(value) - 4, 1) + value[-4:] if len(value) > 4 else STAR * len(value)


def mask_plate(value: str) -> str:
    """鲁Q12345 → 鲁Q***45."""
    if len(value) <= 4:
        return STAR * len(value)
    return value[:2] + STAR * (len(value) - 4) + value[-2:]


def mask_address(value: str) -> str:
    """沂南县界湖街道幸福路8号 → 界湖街道***: only the township survives."""
    for township in TOWNSHIPS:
        if township in value:
            return township + STAR * 3
    return STAR * 3


MASKS = {
    "idcard": mask_idcard,
    "name": mask_name,
    "phone": mask_phone,
    "plate": mask_plate,
    "address": mask_address,
    "redact": lambda _v: STAR * 3,
}


def mask_value(value: object, kind: str | None) -> object:
    """Mask one value of a sensitive kind (None/blank values and non-sensitive kinds pass through)."""
    if kind is None or value is None:
        return value
    text = str(value).strip()
    if not text:
        return value
    try:
        return MASKS[kind](text)
    except KeyError:
        return STAR * 3  # unknown kind: fail closed


def mask_record(record: Mapping[str, object], resource: Resource) -> dict[str, object]:
    """A copy of a row with every sensitive field of the resource masked."""
    kinds = {f.name: f.sensitive for f in resource.fields if f.sensitive}
    return {k: mask_value(v, kinds.get(k)) for k, v in record.items()}


def mask_delivered(record: Mapping[str, object], resource: Resource) -> dict[str, object]:
    """A delivered row (as read, before coercion) for outgoing texts: registry fields masked by
    kind; a column the registry does not know cannot be classified, so its value is withheld
    and its name shown only when safe (``safe_token``), else by position."""
    kinds = {f.name: f.sensitive for f in resource.fields}
    out: dict[str, object] = {}
    for i, (k, v) in enumerate(record.items(), 1):
        if k in kinds:
            out[k] = mask_value(v, kinds[k])
        else:
            out[safe_token(k) or f"(column {i})"] = None if v is None else STAR * 3
    return out


def sensitive_kind(resource: Resource, column: str | None) -> str | None:
    """The mask kind of a column (None when not sensitive or not a registry field)."""
    if not column:
        return None
    for f in resource.fields:
        if f.name == column:
            return f.sensitive
    return None


# ---------------------------------------------------------------- free text leaving the warehouse
#
# A text that leaves the restricted layers (error files, audit reasons, emails, reports, logs)
# is built from our own words plus values we can classify. Delivered content we cannot
# classify (a header that was really a data row, a file name) is never quoted as it is:
# ``mask_text`` masks what a pattern recognises (citizen IDs, mobile numbers, plates) and
# ``safe_token``/``safe_label`` let through only shapes that cannot be a name or an address.

# Citizen ID numbers (18 chars) and mobile numbers.
_ID_PHONE = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])|(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# A plate: province, issuing-office letter, 4-6 letters/digits (new-energy plates have 6).
_PLATE = re.compile(rf"([{PLATE_PROVINCES}][A-Za-z])[ ·]?([A-Za-z0-9]{{2,4}})([A-Za-z0-9]{{2}})(?![A-Za-z0-9])")
_HAN = r"\u3400-\u9fff\uf900-\ufaff"  # CJK ideographs (extension A, unified, compatibility)
_HAN_RUN = re.compile(rf"[{_HAN}]+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_LONG_DIGITS = re.compile(r"\d{7,}")
# Chinese words a file name may carry without naming a person or a place more precise than a
# township: kept in labels; any other run of Chinese characters is masked.
LABEL_WORDS = frozenset(
    "供水 燃气 停车 卫健 水表 燃气表 智能 智慧 读数 档案 记录 安全 检查 停车场 实时 泊位 占用 电子 健康卡 健康 "
    "就诊 医疗 机构 数据 日报 周报 月报 季报 年报 导出 明细 汇总 补报 更正 新增 全量 增量 重传 重报 测试 备份 "
    "县 镇 乡 街道 城关 城区 局 中心 年 月 日 时 分 第 批 次 份 上午 下午 全天 沂南 沂南县".split()
) | frozenset(TOWNSHIPS)


def mask_text(text: str) -> str:
    """Mask citizen IDs, mobile numbers and plates wherever they appear in a text."""
    def id_phone(m: re.Match) -> str:
        if m.group(1):
            return f"{m.group(1)}********{m.group(2)}"
        return f"{m.group(3)}****{m.group(4)}"

    text = _ID_PHONE.sub(id_phone, text)
    return _PLATE.sub(lambda m: m.group(1) + STAR * len(m.group(2)) + m.group(3), text)


def _splits_into(run: str, words: frozenset[str]) -> bool:
    """True when ``run`` splits entirely into ``words`` (any split, not only the greedy one)."""
    ok = [True] + [False] * len(run)
    longest = max(map(len, words))
    for i in range(len(run)):
        if ok[i]:
            for j in range(i + 1, min(len(run), i + longest) + 1):
                if run[i:j] in words:
                    ok[j] = True
    return ok[len(run)]


def _known_words(run: str) -> bool:
    """True when a run of Chinese characters splits entirely into LABEL_WORDS."""
    return _splits_into(run, LABEL_WORDS)


def safe_label(name: str) -> str:
    """A delivered name (a file name) as it may appear outside the warehouse.

    IDs, phones and plates are masked; a run of Chinese characters survives only when it is
    made of known words (LABEL_WORDS: resource words, townships, dates), since a person's name
    or an address cannot be told apart by its shape; a run of other letters (pinyin such as
    ``zhangsan``) likewise only when it splits into known file-name words (``_letters_known``);
    other long digit runs keep their last 4. The label has the name's length (masks star in place).
    """
    text = mask_text(name)
    text = _HAN_RUN.sub(lambda m: m.group(0) if _known_words(m.group(0)) else STAR * len(m.group(0)), text)
    text = _ALNUM_RUN.sub(_mask_alnum, text)
    return _LONG_DIGITS.sub(lambda m: m.group(0) if _is_date_like(m.group(0)) else STAR * (len(m.group(0)) - 4)
                            + m.group(0)[-4:], text)


# Letters and digits of any script but Chinese (whose runs are judged above), and their letter runs.
_ALNUM_RUN = re.compile(rf"[^\W_{_HAN}]+")
_LETTER_RUN = re.compile(rf"[^\W\d_{_HAN}]+")
_CHECKSUM = re.compile(r"(?=[0-9A-Fa-f]*\d)[0-9A-Fa-f]{8,}")
# Words a file name may carry besides the registry's names (``_file_words``): what exports and the
# mock generator call their files, the extensions we read (and a few we refuse by name). None is
# a pinyin syllable or a concatenation of common ones (tests/domain/test_masking.py checks).
FILE_WORDS = frozenset(
    "csv jsonl ndjson json parquet xlsx xls txt tsv xml zip gz part mock tmp error manifest recovered "
    "quarantine rejected unknown archive landing processing "
    "export exports extract daily hourly weekly monthly yearly batch data final delta full upload report "
    "readings reading file files new incremental snapshot backup copy sample fix update updates registry "
    "remote manual late utc".split()
)


def _mask_alnum(m: re.Match) -> str:
    """A run of letters and digits: a hex checksum (8 or more, with a digit) names nobody and is kept;
    else each letter run survives only as one letter (a time, version or seed marker: T, Z, v, s)
    or as known words, since a name written in pinyin (zhangsan, Li) has no telling shape."""
    token = m.group(0)
    if _CHECKSUM.fullmatch(token):
        return token
    return _LETTER_RUN.sub(lambda r: r.group(0) if len(r.group(0)) == 1 or _letters_known(r.group(0).lower())
                           else STAR * len(r.group(0)), token)


def _letters_known(run: str) -> bool:
    """True when a lower-case letter run splits entirely into known file-name words."""
    return _splits_into(run, _file_words())


_WORDS_CACHE: dict[tuple, frozenset[str]] = {}
# One pinyin syllable (a superset: initial + final). A registry part of that shape (yuan in fee_yuan)
# is no file-name word: it may be a surname or a given name.
_PINYIN_SYLLABLE = re.compile(
    r"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?(?:iang|iong|uang|ueng|ang|eng|ong|iao|ian|ing|uai|uan|ai|ei|ao|ou|an|en|"
    r"er|ia|ie|iu|in|ua|uo|ui|un|ue|ve|a|o|e|i|u|v)")


def _file_words() -> frozenset[str]:
    """FILE_WORDS plus the registry's department, resource and field names and their ``_`` parts
    (read once per registry file version; an unreadable registry leaves FILE_WORDS: fail closed)."""
    from citydata.config import settings
    from citydata.errors import CitydataError
    from citydata.registry import load_registry

    path = settings().registry_path
    try:
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
    except OSError:
        return FILE_WORDS
    if key not in _WORDS_CACHE:
        try:
            registry = load_registry(path)
        except CitydataError:
            return FILE_WORDS
        names = set(registry.departments)
        for resource in registry.resources:
            names |= {resource.name, *(f.name for f in resource.fields)}
        parts = {p for n in names for p in (n, *n.split("_")) if p}
        _WORDS_CACHE[key] = FILE_WORDS | {p for p in parts if not _PINYIN_SYLLABLE.fullmatch(p)}
    return _WORDS_CACHE[key]


def _is_date_like(digits: str) -> bool:
    """20261201, 202612010830, 20261201083000: a date (and time) in a file name is not personal."""
    if len(digits) not in (8, 10, 12, 14):
        return False
    year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:8])
    return 1990 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31


def safe_token(value: object) -> str | None:
    """``value`` when its shape cannot carry personal data (an ASCII identifier such as a column
    name, without long digit runs), else None: the caller says "a value" instead of quoting it."""
    text = str(value)
    if _IDENT.fullmatch(text) and not re.search(r"\d{5,}", text):
        return text
    return None


def safe_tokens(values: object) -> str:
    """A list of delivered names (e.g. columns) for a message: the safe ones quoted, the rest counted."""
    items = list(values) if isinstance(values, list | tuple | set | frozenset) else [values]
    shown = [t for t in (safe_token(v) for v in items) if t is not None]
    hidden = len(items) - len(shown)
    parts = [", ".join(shown)] if shown else []
    if hidden:
        parts.append(f"{hidden} other(s) not shown (may be data)")
    return "; ".join(parts) if parts else "none"
