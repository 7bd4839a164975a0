"""KeyHistory answers exactly what a plain dict of every earlier batch would."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from citydata.quality.key_history import KeyHistory, sorted_unique

# Few distinct keys and row hashes, so batches collide with each other often.
batches = st.lists(st.lists(st.tuples(st.integers(-3, 6), st.integers(0, 3)), max_size=12), max_size=12)


@settings(max_examples=300, deadline=None)
@given(batches)
def test_versions_are_those_of_every_earlier_batch(parts: list[list[tuple[int, int]]]) -> None:
    history, earlier = KeyHistory(), {}
    for part in parts:
        keys = np.array([k for k, _ in part], dtype=np.int64)
        rows = np.array([v for _, v in part], dtype=np.int64)
        expected = {k: earlier[k] for k in set(keys.tolist()) if k in earlier}
        assert history.versions(keys) == expected
        history.add(keys, rows)
        for k, v in part:
            earlier.setdefault(k, set()).add(v)
    sizes = [len(k) for k, _ in history.runs]
    assert sum(sizes) == sum(len(p) for p in parts)  # every hash kept, once
    assert all(np.all(k[:-1] <= k[1:]) for k, _ in history.runs)  # each run sorted


def test_runs_stay_logarithmic() -> None:
    history = KeyHistory()
    rng = np.random.default_rng(0)
    for _ in range(64):
        history.add(rng.integers(0, 2**62, 100), rng.integers(0, 2**62, 100))
    assert len(history.runs) <= 7  # 64 equal batches: a binary counter, not 64 runs


def test_one_key_repeated_throughout_costs_a_slice_per_run() -> None:
    history = KeyHistory()
    same = np.full(200_000, 7, dtype=np.int64)
    for part in range(4):  # 800,000 copies of one key; a loop per copy would take minutes here
        assert history.versions(same) == ({7: {0, 1, 2}} if part == 3 else ({7: set(range(part))} if part else {}))
        history.add(same, np.full(200_000, part, dtype=np.int64))


@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=50))
def test_sorted_unique_is_numpys_unique(values: list[int]) -> None:
    a = np.array(values, dtype=np.int64)
    assert np.array_equal(sorted_unique(a), np.unique(a))
