"""The `citydata demo` step that shows what the notification path produced (the outbox)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path

from citydata.config import settings

# A few defective rows in one department's mock deliveries, so the demo shows a quality email
# (row-level defect kinds only: the files load partially instead of being rejected).
DEMO_DEFECT_RATES = {"water": 0.03}


def outbox_step(step: Callable[[str], None], since: float = 0.0) -> list[Path]:
    """Print the emails written to the outbox by this demo (files newer than ``since``)."""
    outbox = settings().outbox_dir
    files = sorted(p for p in outbox.glob("*.eml") if p.stat().st_mtime >= since) if outbox.is_dir() else []
    step(f"emails in the outbox ({outbox}): {len(files)} new")
    kinds: Counter[str] = Counter()
    for path in files:
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        kinds[str(msg["X-Citydata-Kind"])] += 1
        if msg["X-Citydata-Kind"] == "quality":
            print(f"    {msg['To']}: {msg['Subject']}\n      {path}")
    if files:
        print("    " + ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items())) +
              "  (no smtp_default connection: written as .eml instead of sent; open them in any mail client)")
    return files
