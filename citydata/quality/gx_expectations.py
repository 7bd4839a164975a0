"""Custom Great Expectations expectations of the project (imported only where GX runs).

``expect_column_values_to_be_valid_citizen_id``: 公民身份证号码 with a real birth date and a
correct ISO 7064 MOD 11-2 check digit (GB 11643). Registering happens on import.
"""

from __future__ import annotations

from typing import ClassVar

from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import ColumnMapMetricProvider, column_condition_partial

from citydata.domain.ids import is_valid_citizen_id


class ColumnValuesValidCitizenId(ColumnMapMetricProvider):
    condition_metric_name = "column_values.valid_citizen_id"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):  # noqa: ANN001, ANN003, N805 — GX's metric signature
        import datetime as dt

        today = dt.date.today()
        return column.map(lambda v: is_valid_citizen_id(v, today=today)).astype(bool)


class ExpectColumnValuesToBeValidCitizenId(ColumnMapExpectation):
    """Values are valid 18-character citizen ID numbers (shape, birth date, check digit)."""

    map_metric = "column_values.valid_citizen_id"
    success_keys = ("mostly",)
    library_metadata: ClassVar[dict] = {"tags": ["citydata", "pii"], "contributors": ["citydata"]}
