"""Yinan County's 17 township-level divisions, with rough weights and map positions.

Codes 01–17 are our own short codes (used inside meter/lot/institution IDs), in the order of
the county's list. Coordinates are approximate centroids (WGS-84), good enough to place
mock parking lots on a map inside the county, not survey data. Weights are rough shares of
households: the county seat (界湖街道) holds about a fifth of them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Township:
    code: int
    name: str
    longitude: float
    latitude: float
    weight: float


TOWNSHIPS: tuple[Township, ...] = (
    Township(1, "界湖街道", 118.465, 35.550, 0.22),
    Township(2, "岸堤镇", 118.245, 35.715, 0.05),
    Township(3, "孙祖镇", 118.365, 35.735, 0.05),
    Township(4, "双堠镇", 118.315, 35.665, 0.04),
    Township(5, "青驼镇", 118.425, 35.455, 0.05),
    Township(6, "张庄镇", 118.535, 35.470, 0.05),
    Township(7, "砖埠镇", 118.455, 35.420, 0.06),
    Township(8, "葛沟镇", 118.565, 35.385, 0.04),
    Township(9, "杨家坡镇", 118.285, 35.580, 0.04),
    Township(10, "大庄镇", 118.625, 35.590, 0.05),
    Township(11, "辛集镇", 118.550, 35.625, 0.05),
    Township(12, "蒲汪镇", 118.380, 35.495, 0.04),
    Township(13, "湖头镇", 118.515, 35.410, 0.05),
    Township(14, "苏村镇", 118.585, 35.505, 0.05),
    Township(15, "铜井镇", 118.385, 35.605, 0.05),
    Township(16, "依汶镇", 118.410, 35.680, 0.05),
    Township(17, "马牧池乡", 118.270, 35.640, 0.06),
)
NAMES: tuple[str, ...] = tuple(t.name for t in TOWNSHIPS)
BY_CODE = {t.code: t for t in TOWNSHIPS}
COUNTY_BBOX = (118.10, 35.25, 118.80, 35.85)  # lon_min, lat_min, lon_max, lat_max (generous)
