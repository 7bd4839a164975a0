"""Pull connectors (files, HTTP, SQL) behind one small interface: Source.pull(since) → Pulled."""

from citydata.sources.base import Pulled, Source

__all__ = ["Pulled", "Source"]
