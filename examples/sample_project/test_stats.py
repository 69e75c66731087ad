"""Tests for stats.py (run: python3 -m unittest -q test_stats)."""

import unittest

from stats import average, median, spread


class StatsTest(unittest.TestCase):
    def test_average(self) -> None:
        self.assertEqual(average([1, 2, 3, 4]), 2.5)

    def test_median(self) -> None:
        self.assertEqual(median([5, 1, 3]), 3)
        self.assertEqual(median([4, 1, 3, 2]), 2.5)

    def test_spread(self) -> None:
        self.assertEqual(spread([3, 9, 4]), 6)


if __name__ == "__main__":
    unittest.main()
