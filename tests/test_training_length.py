"""benchmarks/training_length.py: runs of one reproduction grouped by length."""

import json
import os

import pytest

from benchmarks import training_length
from yoto import results
from yoto.training import experiment as experiment_lib

LMBDAS = (0.01, 0.1)


def _weights(lmbda):
  return {"distortion": lmbda, "rate": 1.0}


def _write_run(root, steps_dir, seed, name, kind, losses, step, finished=True):
  """A run dir whose last test evaluation is at `step`; `losses` maps λ to
  the full loss (a fixed run: one value, at its own λ)."""
  model_dir = os.path.join(root, f"steps{steps_dir}", f"seed{seed}", name)
  os.makedirs(model_dir)
  rows = []
  for evaluated in (step // 2, step):
    for lmbda, loss in losses.items():
      row = {
        "model": kind,
        "split": "test",
        "step": evaluated,
        "weights": _weights(lmbda),
        # An earlier evaluation is worse, so the last one must be read.
        "values": {"full_loss": loss * (2 if evaluated < step else 1)},
      }
      if kind == "fixed":
        row["train_weights"] = _weights(lmbda)
      rows.append(row)
  results.append_rows(results.metrics_path(model_dir), rows)
  if finished:
    open(experiment_lib.finished_path(model_dir), "w").close()
  return model_dir


def _fixed(root, steps, seed, lmbda, loss):
  _write_run(
    root, steps, seed, f"fixed_lmbda{lmbda:g}", "fixed", {lmbda: loss}, steps
  )


def test_groups_runs_by_steps_trained_and_pairs_yoto_with_fixed(tmp_path):
  root = str(tmp_path)
  for seed in (0, 1):
    for steps, scale in ((100, 1.0), (500, 0.5)):
      for lmbda in LMBDAS:
        _fixed(root, steps, seed, lmbda, scale * (10 + seed) * lmbda / 0.01)
    _write_run(
      root,
      100,
      seed,
      "yoto",
      "yoto",
      {lmbda: 1.2 * (10 + seed) * lmbda / 0.01 for lmbda in LMBDAS},
      100,
    )
    # The 'same compute' model of the 100-step reproduction trained 500 steps.
    _write_run(
      root,
      100,
      seed,
      "yoto_same_compute",
      "yoto",
      {lmbda: 0.5 * (10 + seed) * lmbda / 0.01 for lmbda in LMBDAS},
      500,
    )
  rows = training_length.main(
    ["--model_root", root, "--out_dir", str(tmp_path / "out")]
  )
  assert [(r["label"], r["steps"]) for r in rows] == [
    ("0.01", 100),
    ("0.01", 500),
    ("0.1", 100),
    ("0.1", 500),
  ]
  short, long = rows[0], rows[1]
  assert short["fixed"] == pytest.approx(10.5)
  assert long["fixed_change"] == pytest.approx(-0.5)
  assert short["gap"]["mean"] == pytest.approx(0.2 * 10.5)
  assert short["gap"]["n"] == 2 and short["gap"]["half_width"] > 0
  assert long["gap"]["mean"] == pytest.approx(0.0, abs=1e-9)
  with open(tmp_path / "out" / "training_length.json") as f:
    assert json.load(f)["results"]["rows"] == rows
  text = (tmp_path / "out" / "training_length.md").read_text()
  assert "| distortion weight | steps trained |" in text


def test_unfinished_runs_and_unnamed_yoto_runs_are_left_out(tmp_path):
  root = str(tmp_path)
  _fixed(root, 100, 0, 0.01, 5.0)
  _write_run(
    root, 200, 0, "fixed_lmbda0.01", "fixed", {0.01: 1.0}, 200, finished=False
  )
  _write_run(root, 100, 0, "yoto_wide", "yoto", {0.01: 4.0}, 100)
  fixed, yoto = training_length.tables(
    training_length.finished_runs(root), ["yoto"]
  )
  assert [dict(k) for k in fixed] == [_weights(0.01)]
  assert list(next(iter(fixed.values()))) == [100]
  assert not yoto


def test_two_named_yoto_runs_of_one_length_and_seed_are_refused(tmp_path):
  root = str(tmp_path)
  _fixed(root, 100, 0, 0.01, 5.0)
  _write_run(root, 100, 0, "yoto", "yoto", {0.01: 6.0}, 100)
  _write_run(root, 100, 0, "yoto_same_compute", "yoto", {0.01: 6.0}, 100)
  with pytest.raises(ValueError, match="name only one of them"):
    training_length.tables(
      training_length.finished_runs(root), ["yoto", "yoto_same_compute"]
    )


def test_a_root_without_fixed_runs_is_a_clear_error(tmp_path):
  with pytest.raises(SystemExit, match="No finished fixed-weight run"):
    training_length.main(["--model_root", str(tmp_path)])
  with pytest.raises(SystemExit, match="is not a directory"):
    training_length.main(["--model_root", str(tmp_path / "missing")])
