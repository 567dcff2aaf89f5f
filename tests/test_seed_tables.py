"""Tests of benchmarks/seed_tables: the reproductions' shared Markdown tables
name numeric labels '<label> = <value>' and any other label by `label_text`."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import seed_tables
from yoto.analysis import seed_statistics
# pylint: enable=g-import-not-at-top,wrong-import-position

# Two seeds of a fixed model and a method at two labels, at step 10.
CURVES = {
  "fixed_a": {0: {10: {1: 5.0}}, 1: {10: {1: 6.0}}},
  "fixed_b": {0: {10: {2: 3.0}}, 1: {10: {2: 3.5}}},
  "yoto": {0: {10: {1: 5.5, 2: 3.0}}, 1: {10: {1: 6.1, 2: 3.4}}},
}
STATEMENT = {
  "label": 2,
  "last_quarter_change": 0.1,
  "relative_change": 0.01,
  "share_of_improvement": 0.02,
  "plateaued": True,
}


def test_gap_table_names_numeric_labels_by_value():
  rows = seed_statistics.gap_rows(
    CURVES, {1: "fixed_a", 2: "fixed_b"}, ["yoto"], 10
  )
  table = seed_tables.gap_markdown(rows, label="λ")
  assert table.splitlines()[0] == "|  | λ = 1 | λ = 2 | mean over λ |"
  assert "| yoto | +0.3 ± 2.5 (+5.5 %) | -0.1 ± 0.6 (-1.5 %) | +0.1 |" in table


def test_label_text_names_labels_that_are_not_numbers():
  names = {1: "default", 2: "content x10"}
  rows = seed_statistics.gap_rows(
    CURVES, {1: "fixed_a", 2: "fixed_b"}, ["yoto"], 10
  )
  table = seed_tables.gap_markdown(rows, label="point", label_text=names.get)
  assert table.splitlines()[0] == (
    "|  | default | content x10 | mean over point |"
  )
  convergence = seed_tables.convergence_markdown(
    {"yoto": STATEMENT}, "point", label_text=names.get
  )
  assert "| yoto | content x10 | +0.1 |" in convergence
  assert "| yoto | 2 | +0.1 |" in seed_tables.convergence_markdown(
    {"yoto": STATEMENT}
  )


def test_gap_against_steps_has_a_row_per_step_and_a_percent_interval():
  curves = {
    "fixed_a": {
      0: {10: {1: 5.0}, 20: {1: 4.0}},
      1: {10: {1: 6.0}, 20: {1: 4.0}},
    },
    "fixed_b": {0: {10: {2: 3.0}}, 1: {10: {2: 3.5}}},
    "yoto": {
      0: {10: {1: 5.5, 2: 3.0}, 20: {1: 4.2}},
      1: {10: {1: 6.1, 2: 3.4}, 20: {1: 4.2}},
    },
  }
  names = {1: "default", 2: "content x10"}
  fixed = {1: "fixed_a", 2: "fixed_b"}
  table = seed_tables.gap_steps_markdown(
    {
      label: seed_statistics.relative_gap_curve(curves, fixed, "yoto", label)
      for label in fixed
    },
    names.get,
  )
  # Step 10 at 'default': gaps 0.5 and 0.1 over the fixed mean 5.5, t(1 df)
  # 12.706 x sd 0.283 / sqrt(2) = 2.541; at 'content x10': gaps 0 and
  # -0.1 over 3.25, half-width 12.706 x 0.0707 / sqrt(2) = 0.635; step 20:
  # 0.2 twice over 4.
  assert table.splitlines()[0] == "| step | default | content x10 |"
  assert "| 10 | +5.5 ± 46.2 % | -1.5 ± 19.5 % |" in table
  assert "| 20 | +5.0 ± 0.0 % |  |" in table
  assert seed_tables.gap_steps_markdown({1: {}}, str) == ""


def test_cpu_paragraph_sets_each_model_against_the_fixed_sweep():
  cpu = {"fixed_sweep": 300.0, "yoto": 100.0, "yoto_wide": None}
  assert seed_tables.cpu_markdown(cpu, 5, "fixed codecs") == (
    "\nCPU time per seed: the 5 fixed codecs together 300 s; yoto 100 s "
    "(3.0x less).\n"
  )
  assert seed_tables.cpu_markdown({"fixed_sweep": None, "yoto": 100.0}, 5) == ""


def test_seconds_line_gives_the_seed_mean_of_each_model():
  timings = {
    "yoto": {
      0: {"seconds": 10.0, "cpu_seconds": 18.0},
      1: {"seconds": 20.0, "cpu_seconds": 22.0},
    },
    "fixed": {0: {"seconds": 7.0}},
  }
  assert seed_tables.seconds_line(timings) == (
    "Training + evaluation + export time per model, mean over seeds, "
    "s (CPU s): yoto 15 (20 CPU), fixed 7 (0 CPU)\n"
  )
