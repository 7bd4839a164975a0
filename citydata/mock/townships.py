"""The county's townships (citydata.domain.townships) plus the random picks the generators make: a
township weighted by households, a village name, a household address.
"""

from __future__ import annotations

import random

from citydata.domain.townships import BY_CODE, TOWNSHIPS, Township

__all__ = ["BY_CODE", "TOWNSHIPS", "Township", "address", "pick", "village"]

_ROADS = ("澳柯玛大道", "振兴路", "人民路", "历山路", "银雀山路", "滨河路", "沂蒙路", "阳都路", "新华路", "北京路")
_VILLAGE_HEAD = "王李张刘孙徐朱高马赵杨"
_VILLAGE_TAIL = ("家庄", "家村", "家官庄", "家沟", "家岭", "家洼", "家河")
_VILLAGE_DIR = ("东", "西", "南", "北", "前", "后", "")


def pick(rng: random.Random) -> Township:
    """A township weighted by households."""
    return rng.choices(TOWNSHIPS, weights=[t.weight for t in TOWNSHIPS])[0]


def village(rng: random.Random) -> str:
    return rng.choice(_VILLAGE_DIR) + rng.choice(_VILLAGE_HEAD) + rng.choice(_VILLAGE_TAIL)


def address(rng: random.Random, town: Township) -> str:
    """A household address: a flat in the county seat, a house number in a village elsewhere."""
    if town.code == 1:
        return (f"山东省临沂市沂南县界湖街道{rng.choice(_ROADS)}{rng.randint(1, 399)}号"
                f"{rng.randint(1, 30)}号楼{rng.randint(1, 4)}单元{rng.randint(1, 18)}{rng.randint(1, 4):02d}室")
    return f"山东省临沂市沂南县{town.name}{village(rng)}村{rng.randint(1, 260)}号"
