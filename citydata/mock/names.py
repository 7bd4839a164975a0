"""Realistic Chinese personal names (surname frequencies loosely follow Shandong's)."""

from __future__ import annotations

import random

_SURNAMES = (
    ("王", 9.0), ("张", 8.0), ("李", 7.5), ("刘", 6.0), ("孙", 4.0), ("徐", 3.0), ("杨", 2.8), ("陈", 2.5),
    ("赵", 2.5), ("高", 2.2), ("马", 2.0), ("于", 1.8), ("朱", 1.6), ("胡", 1.4), ("郭", 1.4), ("宋", 1.3),
    ("吴", 1.2), ("周", 1.2), ("韩", 1.1), ("颜", 0.9), ("孟", 0.9), ("公", 0.6), ("诸葛", 0.3), ("田", 0.9),
    ("姜", 0.8), ("崔", 0.8), ("邵", 0.6), ("厉", 0.5), ("魏", 0.7), ("薛", 0.6), ("庞", 0.4), ("尹", 0.5),
)
_MALE = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆峰建国志文龙海东林成庆兴德振"
_FEMALE = "芳娜敏静丽艳娟霞秀英华慧巧美娅婷雪琳玉兰萍红梅凤洁琴云莉燕倩晶颖欣怡"


def person_name(rng: random.Random, male: bool) -> str:
    """Surname + one or two given-name characters (two-character given names are most common)."""
    surname = rng.choices([s for s, _ in _SURNAMES], weights=[w for _, w in _SURNAMES])[0]
    pool = _MALE if male else _FEMALE
    given = rng.choice(pool) if rng.random() < 0.3 else rng.choice(pool) + rng.choice(pool)
    return surname + given
