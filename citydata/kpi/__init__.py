"""Indicators against the county's targets (DOMAIN.md): compute, store, read."""

from citydata.kpi.periods import Period, parse_period, period_for


def read_kpis(period: str = "day", date: object = None, **kw: object) -> list[dict]:
    """Exactly what `citydata kpi --json` prints (see citydata.kpi.read.read_kpis)."""
    from citydata.kpi.read import read_kpis as _read

    return _read(period, date, **kw)


__all__ = ["Period", "parse_period", "period_for", "read_kpis"]
