"""Mask personal values before they leave the warehouse (reports, emails, .error.json, sharing).

One helper for every outlet, driven by the registry's ``sensitive`` kind of each field, so a
value is masked the same way wherever it is shown. Masks keep just enough to be useful to
the department that owns the data (region of a citizen ID, a surname, the township).
"""

from __future__ import annotations

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


def sensitive_kind(resource: Resource, column: str | None) -> str | None:
    """The mask kind of a column (None when not sensitive or not a registry field)."""
    if not column:
        return None
    for f in resource.fields:
        if f.name == column:
            return f.sensitive
    return None
