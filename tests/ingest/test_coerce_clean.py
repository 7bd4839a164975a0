"""Coercion's fast paths (ASCII trimming, one parse per distinct value) decide as the general path does."""

from __future__ import annotations

import random

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from citydata.ingest.coerce import ARROW_TYPES, REPEAT_SAMPLE, _clean, _coerce_typed, _repeats, coerce_column
from citydata.registry import FieldSpec

# Every ASCII character, blank ones (incl. the separators U+001C-U+001F) drawn often.
ascii_text = st.text(st.one_of(st.sampled_from(" \t\n\v\f\r\x1c\x1d\x1e\x1f"), st.characters(max_codepoint=127)),
                     max_size=8)


def unicode_clean(values: list[str | None]) -> list[str | None]:
    trimmed = pc.utf8_trim_whitespace(pa.array(values, pa.string())).to_pylist()
    return [None if v == "" else v for v in trimmed]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), ascii_text), max_size=20), st.integers(0, 3))
def test_ascii_values_are_cleaned_as_unicode_trimming_would(values: list[str | None], skip: int) -> None:
    arr = pa.array(values, pa.string())[skip:]  # a slice: its buffer holds values outside it
    assert _clean(arr).to_pylist() == unicode_clean(values[skip:])


WORDS = ["", " ", "7", " 42 ", "-3", "１２", "1.5", "1e3", "nan", "inf", "n/a", "true", "否", "2026-12-01",
         "2026-12-01 08:15:00", "2026-12-01T08:15", "2026-12-01 08:15:00+08:00", "2026-12-01 08:15:00Z",
         "1991-04-14 02:30:00", "2026-13-01", "界湖街道", "SW0100000001", "\x1c7\x1c"]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["integer", "float", "timestamp", "date", "boolean", "string"]),
       st.lists(st.one_of(st.none(), st.sampled_from(WORDS)), min_size=1, max_size=8), st.integers(0, 2**32))
def test_repeated_values_coerce_as_each_value_would(kind: str, vocabulary: list[str | None], seed: int) -> None:
    """A column repeating a few values (coerced once per distinct value) gives the typed values
    and the invalid mask that coercing every row gives."""
    spec = FieldSpec(name="v", type=kind)
    rnd = random.Random(seed)
    arr = pa.array([rnd.choice(vocabulary) for _ in range(5 * REPEAT_SAMPLE)], pa.string())
    assert _repeats(arr)
    typed, bad = coerce_column(arr, spec)
    row_typed, row_bad = _coerce_typed(arr, spec, ARROW_TYPES[kind])
    assert typed.to_pylist() == row_typed.to_pylist()
    assert bad.to_pylist() == row_bad.to_pylist()
