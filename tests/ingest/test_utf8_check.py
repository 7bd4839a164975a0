"""Utf8Check, fed a file chunk by chunk, accepts and rejects exactly what decoding the whole file
as UTF-8 does, and names the same first bad byte."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from citydata.ingest.readers import Utf8Check

# Valid text (ASCII, Chinese, 4-byte characters) with stray bytes mixed in, cut anywhere.
pieces = st.lists(st.one_of(st.text(st.sampled_from("a,1\n水表𝄞é"), max_size=6).map(str.encode),
                            st.binary(max_size=2)), max_size=12)


def first_error(chunks: list[bytes]) -> int | None:
    decoder, offset = Utf8Check(), 0
    try:
        for chunk in chunks:
            decoder.decode(chunk)
            offset += len(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return offset + exc.start
    return None


@settings(max_examples=500, deadline=None)
@given(pieces, st.lists(st.integers(0, 60), max_size=5))
def test_verdict_and_offset_are_codecs(parts: list[bytes], cuts: list[int]) -> None:
    data = b"".join(parts)
    bounds = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    chunks = [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    try:
        data.decode("utf-8")
        expected = None
    except UnicodeDecodeError as exc:
        expected = exc.start
    assert first_error(chunks) == expected
