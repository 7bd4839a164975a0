"""Numbers as people read them in reports, emails, the dashboard and the CLI table."""

from __future__ import annotations

NO_DATA = "—"


def pct(value: float | None) -> str:
    """0.8333 → '83.3%'; None → '—' (no data is not 0%)."""
    return NO_DATA if value is None else f"{float(value) * 100:.1f}%"


def one_decimal(value: float) -> str:
    """12.0 → '12', 3.45 → '3.5'."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text
