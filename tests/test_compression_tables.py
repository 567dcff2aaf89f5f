"""Tests of benchmarks/compression_tables: the compression report's tables."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import compression_tables
from yoto.analysis import seed_statistics
# pylint: enable=g-import-not-at-top,wrong-import-position


def test_bd_rate_against_steps_has_a_row_per_step_of_any_codec():
  curves = {
    "yoto": {
      1000: seed_statistics.interval([40.0, 50.0]),
      2000: seed_statistics.interval([20.0]),
    },
    "yoto_wide": {2000: seed_statistics.interval([10.0, 12.0])},
  }
  table = compression_tables.bd_steps_markdown(curves)
  # yoto at 1000: mean 45, half-width 12.706 x 7.071 / sqrt(2) = 63.5.
  assert table.splitlines() == [
    "| step | yoto | yoto_wide |",
    "|---|---|---|",
    "| 1000 | +45.0 ± 63.5 % | n/a |",
    "| 2000 | +20.0 % | +11.0 ± 12.7 % |",
  ]
  assert compression_tables.bd_steps_markdown({}) == ""
