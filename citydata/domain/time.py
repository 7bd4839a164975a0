"""The county's time zone: times are stored in UTC and shown, and naive times read, in Asia/Shanghai.

One definition for the whole code base; China has had no daylight saving time since 1991, but a
real zone (not a fixed +08:00 offset) keeps older dates and the zone's name right.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LOCAL_TZ_NAME = "Asia/Shanghai"
LOCAL_TZ = ZoneInfo(LOCAL_TZ_NAME)
# From this local wall time on the zone has one fixed offset (China's last DST ended on
# 1991-09-15 at 02:00 local): naive local times after it convert by arithmetic, without the
# time-zone database's per-value lookup. tests/domain/test_time.py checks it against zoneinfo.
FIXED_SINCE = dt.datetime(1991, 9, 15, 2, 0)
FIXED_OFFSET = dt.timedelta(hours=8)

__all__ = ["FIXED_OFFSET", "FIXED_SINCE", "LOCAL_TZ", "LOCAL_TZ_NAME"]
