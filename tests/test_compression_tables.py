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


def test_each_seeds_bd_values_form_one_row_per_data_and_model():
  by_seed = {
    "test crops": {
      "yoto": {
        "bd_rate_psnr_pchip": {0: 39.5, 1: 82.25},
        "bd_psnr_pchip": {0: -0.38, 1: None},
      }
    },
    "full photos": {
      "yoto": {"bd_rate_psnr_pchip": {0: 10.0}, "bd_psnr_pchip": {0: -0.1}}
    },
  }
  table = compression_tables.bd_seeds_markdown(by_seed)
  assert table.splitlines() == [
    "| data | model | seed 0 | seed 1 |",
    "|---|---|---|---|",
    "| test crops | yoto | +39.5 % / -0.38 dB | n/a |",
    "| full photos | yoto | +10.0 % / -0.10 dB | n/a |",
  ]
  one_seed = {"test crops": {"yoto": {"bd_rate_psnr_pchip": {0: 1.0}}}}
  assert compression_tables.bd_seeds_markdown(one_seed) == ""
