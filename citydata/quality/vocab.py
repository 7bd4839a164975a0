"""Suite parameters from the shared vocabulary (citydata.domain.vocab): one source of truth.

The mock generator emits, the defect injector breaks, and the suites check the same code
lists, formats and ranges. Suites reference them by name, e.g.
``{"$PARAMETER": "water__meter_readings__read_method__values"}``:
``<department>__<resource>__<field>__values`` (enumerations), ``__regex`` (formats),
``__min`` / ``__max`` (ranges), plus a few county-wide names (``townships``,
``plate_linyi``). A code list therefore changes in one place.
"""

from __future__ import annotations

from functools import cache

from citydata.domain import vocab
from citydata.domain.ids import is_valid_citizen_id
from citydata.domain.townships import COUNTY_BBOX, NAMES

TOWNSHIPS: tuple[str, ...] = NAMES
PLATE_LINYI = r"^鲁Q"  # 临沂 (Linyi) plates; other provinces' cars are legal but worth a note

__all__ = ["COUNTY_BBOX", "PLATE_LINYI", "TOWNSHIPS", "is_valid_citizen_id", "parameter_name", "suite_parameters"]


def parameter_name(resource_key: str, field: str, what: str) -> str:
    """GX suite parameter names may not contain dots: water.meters → water__meters."""
    return f"{resource_key.replace('.', '__')}__{field}__{what}"


@cache
def _vocabulary() -> dict[str, object]:
    params: dict[str, object] = {"townships": list(TOWNSHIPS), "plate_linyi": PLATE_LINYI}
    for key, rules in vocab.RULES.items():
        for field, rule in rules.items():
            if isinstance(rule, vocab.Enum):
                params[parameter_name(key, field, "values")] = list(rule.values)
            elif isinstance(rule, vocab.Pattern):
                params[parameter_name(key, field, "regex")] = rule.regex
            elif isinstance(rule, vocab.Range):
                if rule.min is not None:
                    params[parameter_name(key, field, "min")] = rule.min
                if rule.max is not None:
                    params[parameter_name(key, field, "max")] = rule.max
    return params


def suite_parameters() -> dict[str, object]:
    """Every vocabulary value a suite may reference with ``{"$PARAMETER": name}`` (a fresh copy)."""
    return dict(_vocabulary())
