"""The key and row hashes of a delivery's earlier batches, for duplicates across batches."""

from __future__ import annotations

import numpy as np


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """np.unique by a sort: numpy 2.4's np.unique of 100,000 int64 takes 37 ms, np.sort 1 ms."""
    s = np.sort(a)
    return s[np.concatenate(([True], s[1:] != s[:-1]))] if len(s) else s


class KeyHistory:
    """Sorted runs of (key hash, row hash), merged like a binary counter.

    A batch is probed against O(log n) runs and each hash is merged O(log n) times, so a
    delivery of many batches costs O(n log n) instead of every batch probing every earlier
    one (quadratic: 50 probes of 100,000 keys for a 1M-row file in 100,000-row batches).
    """

    def __init__(self) -> None:
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []

    def __bool__(self) -> bool:
        return bool(self.runs)

    def versions(self, keys: np.ndarray) -> dict[int, set[int]]:
        """For each of ``keys`` seen in an earlier batch: the row hashes it had there.

        Each distinct key is looked up once and its earlier rows taken as one slice, so a
        delivery that repeats one key a million times costs a slice, not a Python loop per copy.
        """
        seen: dict[int, set[int]] = {}
        keys = sorted_unique(keys)  # sorted probes search ≈ 8× faster than random ones (100,000 keys)
        for k, v in self.runs:
            lo = np.searchsorted(k, keys, "left")
            found = np.flatnonzero(k[np.minimum(lo, len(k) - 1)] == keys)  # the rest is not in this run
            hi = np.searchsorted(k, keys[found], "right")
            for i, start, end in zip(found.tolist(), lo[found].tolist(), hi.tolist(), strict=True):
                seen.setdefault(int(keys[i]), set()).update(v[start:end].tolist())
        return seen

    def add(self, keys: np.ndarray, rows: np.ndarray) -> None:
        if not len(keys):
            return
        order = np.argsort(keys)  # the order of equal keys does not matter
        self.runs.append((keys[order], rows[order]))
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            (k2, v2), (k1, v1) = self.runs.pop(), self.runs.pop()
            k, v = np.concatenate([k1, k2]), np.concatenate([v1, v2])
            order = np.argsort(k, kind="stable")  # timsort: two sorted runs are merged in linear time
            self.runs.append((k[order], v[order]))
