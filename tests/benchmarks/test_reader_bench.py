"""The reader benchmark's order of reads (benchmarks/readers.py)."""

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.readers import williams_orders  # noqa: E402


def test_reader_benchmark_order_is_carryover_balanced():
    """Each read follows each other read equally often within the rounds (a Williams square)."""
    for n in (2, 3, 4, 5, 6):
        rows = williams_orders(n)
        assert all(sorted(row) == list(range(n)) for row in rows)
        pairs = Counter((row[i], row[i + 1]) for row in rows for i in range(n - 1))
        assert len(pairs) == n * (n - 1) and len(set(pairs.values())) == 1
