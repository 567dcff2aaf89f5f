"""Tests of yoto.analysis.tables: the numbers in the CSV and Markdown."""

import csv

import fake_runs
import pytest

from yoto.analysis import frontier
from yoto.analysis import metrics
from yoto.analysis import tables


def _yoto_losses(beta, *_):
  return {0.5: (6.0, 100.0), 2.0: (3.0, 110.0), 8.0: (1.0, 130.0)}[beta]


def _fixed_losses(beta, *_):
  return {0.5: (5.0, 99.0), 8.0: (1.5, 125.0)}[beta]


@pytest.fixture(name="table")
def table_fixture(tmp_path):
  yoto_dir, fixed_dirs = fake_runs.write_sweep(
    tmp_path, yoto_losses=_yoto_losses, fixed_losses=_fixed_losses
  )
  comparison = frontier.compare(*metrics.load_comparison(yoto_dir, fixed_dirs))
  return tables.comparison_table(comparison)


def test_rows_hold_each_method_and_the_gaps(table):
  columns, rows = table
  assert columns[:5] == [
    "beta",
    "log2_beta",
    "yoto_kl_loss",
    "yoto_reconstruction_loss",
    "yoto_full_loss",
  ]
  assert [r["beta"] for r in rows] == [0.5, 2.0, 8.0]
  assert [r["log2_beta"] for r in rows] == [-1.0, 1.0, 3.0]
  first, middle, last = rows
  assert first["yoto_full_loss"] == pytest.approx(103.0)  # 0.5 * 6 + 100
  assert first["fixed_full_loss"] == pytest.approx(101.5)  # 0.5 * 5 + 99
  assert first["yoto_minus_fixed"] == pytest.approx(1.5)
  assert last["yoto_full_loss"] == pytest.approx(138.0)  # 8 * 1 + 130
  assert last["fixed_full_loss"] == pytest.approx(137.0)  # 8 * 1.5 + 125
  assert last["yoto_minus_fixed"] == pytest.approx(1.0)
  # Single model: mean full loss over {0.5, 2, 8} is 99 + 5 * 3.5 = 116.5 for
  # the β = 0.5 model and 125 + 1.5 * 3.5 = 130.25 for the β = 8 one.
  assert last["single_model_kl_loss"] == 5.0
  assert last["single_model_full_loss"] == pytest.approx(139.0)  # 8 * 5 + 99
  assert last["single_model_minus_fixed"] == pytest.approx(2.0)
  assert middle["fixed_full_loss"] is None
  assert middle["yoto_minus_fixed"] is None
  assert middle["single_model_full_loss"] == pytest.approx(109.0)


def test_csv_holds_the_numbers_at_full_precision(table, tmp_path):
  path = tables.to_csv(table, str(tmp_path / "out" / "table.csv"))
  with open(path) as f:
    rows = list(csv.DictReader(f))
  assert [float(r["beta"]) for r in rows] == [0.5, 2.0, 8.0]
  assert float(rows[0]["yoto_full_loss"]) == 103.0
  assert float(rows[2]["single_model_minus_fixed"]) == 2.0
  assert rows[1]["fixed_full_loss"] == ""
  assert float(rows[1]["yoto_reconstruction_loss"]) == 110.0


def test_markdown_is_a_table_with_the_rounded_numbers(table):
  text = tables.to_markdown(table, digits=4)
  lines = text.strip().splitlines()
  assert len(lines) == 2 + 3
  header = [c.strip() for c in lines[0].strip("|").split("|")]
  assert header == table[0]
  cells = [c.strip() for c in lines[2].strip("|").split("|")]
  row = dict(zip(header, cells))
  assert row["beta"] == "0.5" and row["yoto_full_loss"] == "103"
  assert row["yoto_minus_fixed"] == "1.5"
  middle = dict(
    zip(header, [c.strip() for c in lines[3].strip("|").split("|")])
  )
  assert middle["fixed_full_loss"] == ""


def test_write_tables_writes_both_files(table, tmp_path):
  csv_path, md_path = tables.write_tables(table, str(tmp_path / "tables"))
  assert csv_path.endswith("comparison.csv") and md_path.endswith(
    "comparison.md"
  )
  with open(md_path) as f:
    assert f.read() == tables.to_markdown(table)
