"""Identifier rules of the county's systems: citizen ID numbers, plates, meter/lot/institution codes.

The check-digit helpers are public so the quality layer validates IDs with the same rule
the generators use (GB 11643-1999: ISO 7064 MOD 11-2 over the first 17 digits).
"""

from __future__ import annotations

import datetime as dt
import random
import re

YINAN_AREA_CODE = "371321"  # 山东省临沂市沂南县
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_CITIZEN_ID = re.compile(r"^\d{17}[0-9Xx]$")

# Fixed-format codes (prefix + 2-digit township code + serial); see vocab.PATTERNS.
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O on Chinese plates
_PLATE_ALNUM = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


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


def make_citizen_id(rng: random.Random, birth: dt.date, male: bool, area: str = YINAN_AREA_CODE) -> str:
    """A valid ID: area + birth date + sequence (odd for men, even for women) + check digit."""
    seq = rng.randrange(0, 500) * 2 + (1 if male else 0)
    first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
    return first17 + citizen_id_check_digit(first17)


def make_plate(rng: random.Random, new_energy: bool = False, prefix: str = "鲁Q") -> str:
    """A Linyi plate: 鲁Q + letter + 4 alphanumerics, or 鲁Q + D/F + 5 (new-energy cars)."""
    if new_energy:
        return prefix + rng.choice("DF") + rng.choice(_PLATE_ALNUM) + "".join(rng.choice("0123456789") for _ in range(4))
    body = [rng.choice(_PLATE_ALNUM) for _ in range(4)]
    if sum(c.isalpha() for c in body) > 2:  # public-security rule: at most two letters in the serial
        body = [c if c.isdigit() else rng.choice("0123456789") for c in body]
    return prefix + rng.choice(PLATE_LETTERS) + "".join(body)


def make_phone(rng: random.Random) -> str:
    """A mainland mobile number (11 digits, 13x–19x)."""
    return "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))


def water_meter_id(town: int, serial: int) -> str:
    return f"SW{town:02d}{serial:08d}"


def gas_meter_id(town: int, serial: int) -> str:
    return f"RQ{town:02d}{serial:08d}"


def lot_id(town: int, serial: int) -> str:
    return f"TC{town:02d}{serial:04d}"


def institution_id(town: int, serial: int) -> str:
    return f"YL{town:02d}{serial:03d}"
