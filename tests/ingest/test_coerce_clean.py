"""The ASCII fast path of text cleaning trims exactly what Unicode trimming does."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from citydata.ingest.coerce import _clean

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
