"""Mock identifiers: valid citizen IDs, Linyi plates, phones and the fixed-format meter/lot/institution codes.

Built with the county's rules in citydata.domain.ids, so the quality layer accepts what the
generators write (the codes: prefix + 2-digit township code + serial; see domain.vocab.PATTERNS).
"""

from __future__ import annotations

import datetime as dt
import random

from citydata.domain.ids import PLATE_LETTERS, YINAN_AREA_CODE, citizen_id_check_digit

_PLATE_ALNUM = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


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
