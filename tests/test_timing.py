"""Tests of benchmarks/timing: variants run interleaved in a rotating order
after their warm-up, and ratios are medians of per-repetition ratios."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import timing
# pylint: enable=g-import-not-at-top,wrong-import-position


def test_variants_run_interleaved_in_a_rotating_order_after_warmup():
  calls = []
  variants = {
    name: (lambda name=name: calls.append(name)) for name in ("a", "b", "c")
  }
  times = timing.interleaved(variants, repeats=3, warmup=1)
  assert "".join(calls) == "abc" + "abc" + "bca" + "cab"
  assert {name: len(ts) for name, ts in times.items()} == {
    "a": 3,
    "b": 3,
    "c": 3,
  }
  assert set(times.to_json()) == {"wall_s", "cpu_s"}


def test_ratios_are_medians_of_the_per_repetition_ratios():
  times = timing.Times(
    a=[timing.Timing(wall=w, cpu=c) for w, c in ((2, 1), (9, 3), (4, 2))],
    b=[timing.Timing(wall=1, cpu=1) for _ in range(3)],
  )
  assert timing.ratios(times, {"a/b": ("a", "b")}) == {
    "a/b": {"cpu": 2.0, "wall": 4.0}
  }
  assert timing.medians(times)["wall"] == {"a": 4.0, "b": 1.0}
  assert timing.format_ratio({"cpu": 1.234, "wall": 1.3}, bold=True) == (
    "**1.23** (wall 1.30)"
  )
  assert timing.paired_ratio({"x": [1.0, 3.0]}, "x", "x") == pytest.approx(1)
