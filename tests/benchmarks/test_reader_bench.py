"""The reader benchmark's order of reads (benchmarks/readers.py)."""

import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.readers import READS, describe_rounds, round_orders, williams_orders  # noqa: E402


def test_reader_benchmark_order_is_carryover_balanced():
    """Each read follows each other read equally often within the rounds (a Williams square)."""
    for n in (2, 3, 4, 5, 6):
        rows = williams_orders(n)
        assert all(sorted(row) == list(range(n)) for row in rows)
        pairs = Counter((row[i], row[i + 1]) for row in rows for i in range(n - 1))
        assert len(pairs) == n * (n - 1) and len(set(pairs.values())) == 1


@pytest.mark.parametrize(("n", "repeats", "squares"),
                         [(5, 3, 1), (5, 10, 1), (5, 11, 2), (5, 20, 2), (5, 21, 3), (4, 5, 2), (5, 0, 1)])
def test_timed_rounds_are_whole_squares_balanced_by_place_and_by_predecessor(n, repeats, squares):
    warm_up, timed = round_orders(n, repeats)
    square = williams_orders(n)
    rows = 2 * n if n % 2 else n
    assert len(square) == rows and len(timed) == squares * rows  # --repeats rounded up to whole squares
    assert timed == square * squares and warm_up == square[-1]
    # each read in each place of a round: `squares * rows / n` times (5 reads: twice per square)
    by_place = Counter((place, read) for row in timed for place, read in enumerate(row))
    assert by_place == {(p, r): squares * rows // n for p in range(n) for r in range(n)}
    # each ordered pair (b right after a, within a round): `squares * rows / n` times (5 reads: twice per square)
    pairs = Counter((row[i], row[i + 1]) for row in timed for i in range(n - 1))
    assert pairs == {(a, b): squares * rows // n for a in range(n) for b in range(n) if a != b}


def test_rotate_order_keeps_repeats_rounds():
    warm_up, timed = round_orders(5, 3, "rotate")
    assert warm_up == [0, 1, 2, 3, 4]
    assert timed == [[1, 2, 3, 4, 0], [2, 3, 4, 0, 1], [3, 4, 0, 1, 2]]
    with pytest.raises(ValueError, match="order"):
        round_orders(5, 3, "shuffle")


def test_the_output_says_how_many_rounds_and_squares():
    assert len(READS) == 5
    assert describe_rounds(5, 11).startswith("rounds: 20 (2 whole Williams squares of 10 rows; --repeats 11 "
                                             "rounded up)")
    assert describe_rounds(5, 10).startswith("rounds: 10 (1 whole Williams square of 10 rows)")
    assert describe_rounds(5, 3, "rotate").startswith("rounds: 3 (rotations of 5 reads)")
