"""Identifier rules of the county's systems: citizen ID numbers (GB 11643-1999) and plate letters.

The quality layer validates IDs with these rules and the mock generators (citydata.mock.ids)
build IDs with them (ISO 7064 MOD 11-2 over the first 17 digits).
"""

from __future__ import annotations

import datetime as dt
import re

YINAN_AREA_CODE = "371321"  # 山东省临沂市沂南县
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_CITIZEN_ID = re.compile(r"^\d{17}[0-9Xx]$")

PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O on Chinese plates


def citizen_id_check_digit(first17: str) -> str:
    """The 18th character of a citizen ID number for its first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError(f"expected 17 digits, got {first17!r}")
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def is_valid_citizen_id(s: object, *, today: dt.date | None = None) -> bool:
    """18 characters, a real birth date (1900 … today), and a correct MOD 11-2 check digit.

    A lower-case 'x' is accepted as the check character (common in keyed-in data).
    Any area code is accepted: people from other counties visit Yinan's clinics.
    """
    if not isinstance(s, str) or not _CITIZEN_ID.match(s):
        return False
    try:
        birth = dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    if not dt.date(1900, 1, 1) <= birth <= (today or dt.date.today()):
        return False
    return citizen_id_check_digit(s[:17]) == s[17].upper()
