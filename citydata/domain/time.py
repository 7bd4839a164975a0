"""The county's time zone: times are stored in UTC and shown, and naive times read, in Asia/Shanghai.

One definition for the whole code base; China has had no daylight saving time since 1991, but a
real zone (not a fixed +08:00 offset) keeps older dates and the zone's name right.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

LOCAL_TZ_NAME = "Asia/Shanghai"
LOCAL_TZ = ZoneInfo(LOCAL_TZ_NAME)

__all__ = ["LOCAL_TZ", "LOCAL_TZ_NAME"]
