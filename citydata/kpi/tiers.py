"""Timeliness tiers (docs/indicators.md): 实时 ≤ 5 min, 准实时 ≤ 60 min, T+1 ≤ 24 h, late; thresholds from the registry."""

from __future__ import annotations

from citydata.registry import Tiers

REALTIME, NEAR_REALTIME, T1, LATE = "realtime", "near_realtime", "t1", "late"
NO_DATA, NOT_PUBLISHED, NOT_SHARED = "no_data", "not_published", "not_shared"

LABELS = {
    "zh-CN": {REALTIME: "实时", NEAR_REALTIME: "准实时", T1: "T+1", LATE: "超时(>T+1)", NO_DATA: "无数据",
              NOT_PUBLISHED: "未发布", NOT_SHARED: "不予共享"},
    "en": {REALTIME: "real-time", NEAR_REALTIME: "near-real-time", T1: "T+1", LATE: "late", NO_DATA: "no data",
           NOT_PUBLISHED: "not published", NOT_SHARED: "not shared"},
}


def realtime_seconds(tiers: Tiers) -> float:
    return tiers.realtime_minutes * 60


def classify(p95_seconds: float | None, tiers: Tiers) -> str:
    """Tier of a p95 latency; a latency exactly at a bound belongs to that tier (≤)."""
    if p95_seconds is None:
        return NO_DATA
    if p95_seconds <= tiers.realtime_minutes * 60:
        return REALTIME
    if p95_seconds <= tiers.near_realtime_minutes * 60:
        return NEAR_REALTIME
    if p95_seconds <= tiers.t1_hours * 3600:
        return T1
    return LATE


def label(tier: str, lang: str = "zh-CN") -> str:
    return LABELS.get(lang, LABELS["zh-CN"]).get(tier, tier)
