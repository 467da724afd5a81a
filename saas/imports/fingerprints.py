"""Row fingerprints, so a file without order references can be imported again safely.

A row's order reference is a hash of its content plus its occurrence number among
identical rows, so the second of two identical purchases is kept the first time and
neither is added again on a re-import. Finding which fingerprints repeat takes a first
pass that keeps 8 bytes per row, not the rows themselves.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable

import numpy as np

FIELD_SEPARATOR = "\x1f"


def fingerprint(cells: list[str]) -> int:
    text = FIELD_SEPARATOR.join(cell.strip() for cell in cells)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big",
                          signed=True)


def repeated_fingerprints(rows: Iterable[tuple[int, list[str]]]) -> tuple[int, set[int]]:
    """Return the number of rows and the fingerprints that occur more than once."""
    seen = array("q")
    for _line, cells in rows:
        seen.append(fingerprint(cells))
    if not seen:
        return 0, set()
    values, counts = np.unique(np.frombuffer(seen, dtype=np.int64), return_counts=True)
    return len(seen), {int(value) for value in values[counts > 1]}


class Occurrences:
    """Numbers repeated fingerprints 1, 2, 3… in file order; unique ones are always 1."""

    def __init__(self, repeated: set[int]) -> None:
        self.repeated = repeated
        self.counts: dict[int, int] = {}

    def reference(self, cells: list[str]) -> str:
        digest = fingerprint(cells)
        occurrence = 1
        if digest in self.repeated:
            occurrence = self.counts.get(digest, 0) + 1
            self.counts[digest] = occurrence
        return f"row:{digest & 0xFFFFFFFFFFFFFFFF:016x}:{occurrence}"
