"""64-bit hashes of rows and keys straight from Arrow columns (no pandas frame is built).

Used to find a key's versions across the batches of one delivery, so a hash only has to be
the same for equal values within one process; distinct strings are hashed once per batch
through a dictionary (a key column or a district repeats many times in a batch).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_NULL = np.uint64(0x9E3779B97F4A7C15)  # the hash of a missing value, whatever the column's type
_MIX = np.uint64(0x100000001B3)


def _hash(values: np.ndarray) -> np.ndarray:
    import pandas as pd

    return pd.util.hash_array(values, categorize=False)


def column_hash(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """One uint64 per value: equal values (of the same column type) hash equal, a null to _NULL."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t):
        enc = pc.dictionary_encode(arr)
        words = _hash(enc.dictionary.to_numpy(zero_copy_only=False))
        codes = enc.indices.fill_null(0).to_numpy(zero_copy_only=False)
        out = words[codes] if len(words) else np.zeros(len(arr), dtype=np.uint64)
    else:
        if pa.types.is_date(t):
            arr = pc.cast(arr, pa.int32())
        if not pa.types.is_floating(arr.type):
            arr = pc.cast(arr, pa.int64())  # timestamps, dates, booleans, integers of any width
        out = _hash(arr.fill_null(0).to_numpy(zero_copy_only=False))
    if arr.null_count:
        out = np.where(arr.is_valid().to_numpy(zero_copy_only=False), out, _NULL)
    return out


def combine(hashes: list[np.ndarray]) -> np.ndarray:
    """Columns' hashes mixed in order (wrapping multiply-add: equal rows, equal results)."""
    out = np.zeros(len(hashes[0]), dtype=np.uint64)
    for h in hashes:
        out = out * _MIX + h
    return out


def key_and_row_hashes(table: pa.Table, key: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(hash of each row's ``key`` columns, hash of the whole row), each column hashed once."""
    cols = {name: column_hash(table.column(name)) for name in table.column_names}
    return combine([cols[k] for k in key]), combine(list(cols.values()))
