"""Event triggers for AssetWatcher: a landing-zone watcher that schedules a department's ingest DAG.

The stock FileDeleteTrigger deletes the file it found, which would lose a delivery; this one
leaves files where they are (the ingest DAG archives them) and announces each new stable file
once. The scan/stability/memory logic is `citydata.ingest.watch` (Airflow-free, unit-tested).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent


class LandingZoneTrigger(BaseEventTrigger):
    """Emit one event per new stable file under landing/<department>/, remembering announcements.

    :param department: registry department whose folder is watched.
    :param landing_dir: absolute landing-zone root (the same mount in every container).
    :param state_path: JSON file keeping announced (path, size, mtime) across triggerer restarts;
        one watcher per department must own it.
    :param poll_seconds: time between two listings; a file is stable after two equal listings, or on
        the first when its mtime is already CITYDATA_STABLE_SECONDS old (citydata.ingest.watch).
    """

    def __init__(self, *, department: str, landing_dir: str, state_path: str, poll_seconds: float = 10.0) -> None:
        super().__init__()
        self.department = department
        self.landing_dir = landing_dir
        self.state_path = state_path
        self.poll_seconds = float(poll_seconds)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "citydata_airflow.triggers.LandingZoneTrigger",
            {"department": self.department, "landing_dir": self.landing_dir,
             "state_path": self.state_path, "poll_seconds": self.poll_seconds},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from citydata.ingest.landing import stable_seconds  # triggerer side only: DAG parsing stays light
        from citydata.ingest.watch import LandingWatch, scan

        # File I/O runs in a thread: the triggerer's event loop serves every other trigger too.
        watch = await asyncio.to_thread(LandingWatch, self.department, Path(self.state_path), stable_seconds())
        landing = Path(self.landing_dir)
        self.log.info("watching %s (poll %ss, %d files remembered)", landing / self.department,
                      self.poll_seconds, len(watch.announced))
        while True:
            try:
                snapshot = await asyncio.to_thread(scan, landing, self.department)
            except OSError as exc:  # a transient NFS/mount problem must not kill the watcher
                self.log.warning("cannot list %s: %s; retrying", landing / self.department, exc)
            else:
                for announcement in watch.poll(snapshot):
                    await asyncio.to_thread(watch.remember, announcement)
                    self.log.info("new stable file %s (%d bytes)", announcement.label, announcement.size)
                    yield TriggerEvent(announcement.payload())
            await asyncio.sleep(self.poll_seconds)
