"""A landed file as a Source (the landing-zone path itself is handled by citydata.ingest.pipeline)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from citydata.ingest.readers import read_file
from citydata.sources.base import Pulled


class FileSource:
    kind = "file"

    def __init__(self, path: Path, name: str | None = None) -> None:
        self.path = path
        self.name = name or str(path)

    def pull(self, since: dt.datetime | None = None) -> Pulled:
        """The whole file (files are not incremental; `since` is ignored)."""
        fb = read_file(self.path)
        return Pulled(batches=fb.batches)
