"""Tests of yoto.analysis.metrics: picking steps and splits, checking runs."""

import json
import os

import fake_runs
import pytest

from yoto.analysis import metrics

BETAS = (0.5, 2.0, 8.0)


def _by_step(beta, step, split):
  """Losses that encode where they come from, to check what was picked."""
  return float(step), 1000.0 * (split == "test") + beta


def test_load_run_picks_the_latest_step_and_the_test_split(tmp_path):
  run_dir = fake_runs.write_run(
    tmp_path / "run", _by_step, BETAS, steps=(10, 30, 20)
  )
  run = metrics.load_run(run_dir)
  assert (run.step, run.split, run.kind) == (30, "test", "yoto")
  assert run.loss_names == ("kl_loss", "reconstruction_loss")
  values = run.values_at(fake_runs.vae_weights(2.0))
  assert values["kl_loss"] == 30.0
  assert values["reconstruction_loss"] == 1002.0
  assert [w["kl_loss"] for w in run.eval_weights] == list(BETAS)


def test_load_run_at_a_given_step_and_split(tmp_path):
  run_dir = fake_runs.write_run(
    tmp_path / "run", _by_step, BETAS, steps=(10, 20), splits=("train", "valid")
  )
  run = metrics.load_run(run_dir, step=10)
  assert (run.step, run.split) == (10, "valid")
  run = metrics.load_run(run_dir, split="train")
  assert (run.step, run.split) == (20, "train")
  assert run.values_at(fake_runs.vae_weights(8.0))["reconstruction_loss"] == 8


def test_load_steps_gives_load_run_at_every_step_of_the_split(tmp_path):
  run_dir = fake_runs.write_run(
    tmp_path / "run",
    _by_step,
    BETAS,
    steps=(10, 30, 20),
    splits=("train", "valid"),
  )
  runs = metrics.load_steps(run_dir, split="train")
  assert list(runs) == [10, 20, 30]
  for step, run in runs.items():
    assert run == metrics.load_run(run_dir, step=step, split="train")
  assert metrics.load_steps(run_dir)[20].split == "valid"


def test_missing_step_split_or_weights_name_what_exists(tmp_path):
  run_dir = fake_runs.write_run(
    tmp_path / "run", _by_step, BETAS, steps=(10, 20)
  )
  with pytest.raises(metrics.MetricsError, match="evaluated steps: 10, 20"):
    metrics.load_run(run_dir, step=15)
  with pytest.raises(metrics.MetricsError, match="it has test, train_full"):
    metrics.load_run(run_dir, split="valid")
  with pytest.raises(metrics.MetricsError, match="not evaluated at"):
    metrics.load_run(run_dir).values_at(fake_runs.vae_weights(4.0))


def test_missing_directory_or_metrics_file_is_a_clear_error(tmp_path):
  with pytest.raises(metrics.MetricsError, match="not a directory"):
    metrics.load_run(str(tmp_path / "nowhere"))
  with pytest.raises(metrics.MetricsError, match="--schedule=eval"):
    metrics.load_run(str(tmp_path))
  (tmp_path / "metrics.jsonl").write_text("")
  with pytest.raises(metrics.MetricsError, match="no eval rows"):
    metrics.load_run(str(tmp_path))


def test_torn_last_line_is_skipped_and_later_rows_win(tmp_path):
  run_dir = fake_runs.write_run(tmp_path / "run", _by_step, BETAS)
  path = os.path.join(run_dir, "metrics.jsonl")
  again = {
    "step": 100,
    "split": "test",
    "weights": fake_runs.vae_weights(2.0),
    "values": {"kl_loss": 7.0, "reconstruction_loss": 3.0, "full_loss": 17.0},
    "model": "yoto",
  }
  with open(path, "a") as f:
    f.write(json.dumps(again) + "\n" + '{"step": 100, "spl')
  run = metrics.load_run(run_dir)
  assert run.values_at(fake_runs.vae_weights(2.0))["kl_loss"] == 7.0
  assert len(run.eval_weights) == 3


def test_fixed_run_training_weights_come_from_record_rows_or_config_gin(
  tmp_path,
):
  from_record = fake_runs.write_run(
    tmp_path / "a", _by_step, BETAS, kind="fixed", train_beta=8.0
  )
  assert metrics.load_run(from_record).train_weights == fake_runs.vae_weights(
    8.0
  )
  from_rows = fake_runs.write_run(
    tmp_path / "b",
    _by_step,
    BETAS,
    kind="fixed",
    train_beta=2.0,
    train_weights_in_rows=True,
  )
  os.remove(os.path.join(from_rows, "run_config.json"))
  assert metrics.load_run(from_rows).train_weights == fake_runs.vae_weights(2.0)
  old_run = fake_runs.write_run(
    tmp_path / "c",
    _by_step,
    BETAS,
    kind="fixed",
    train_beta=0.5,
    legacy_config=True,
  )
  assert not os.path.exists(os.path.join(old_run, "run_config.json"))
  assert metrics.load_run(old_run).train_weights == fake_runs.vae_weights(0.5)


def test_load_comparison_pairs_yoto_with_fixed_runs(tmp_path):
  yoto_dir, fixed_dirs = fake_runs.write_sweep(tmp_path)
  yoto, fixed = metrics.load_comparison(yoto_dir, fixed_dirs)
  assert yoto.kind == "yoto"
  assert [run.train_weights["kl_loss"] for run in fixed] == [0.5, 8.0]
  assert all(run.split == "test" for run in fixed)


def test_mismatched_eval_weights_are_rejected(tmp_path):
  yoto_dir = fake_runs.write_run(tmp_path / "yoto", _by_step, BETAS)
  fixed_dir = fake_runs.write_run(
    tmp_path / "fixed", _by_step, (0.5, 4.0), kind="fixed", train_beta=0.5
  )
  with pytest.raises(metrics.MetricsError) as error:
    metrics.load_comparison(yoto_dir, [fixed_dir])
  message = str(error.value)
  assert "Mismatched eval weights" in message
  assert "kl_loss: 4" in message and "kl_loss: 2" in message


@pytest.mark.parametrize("swap", [True, False])
def test_runs_of_the_wrong_kind_are_rejected(tmp_path, swap):
  yoto_dir, fixed_dirs = fake_runs.write_sweep(tmp_path)
  if swap:
    with pytest.raises(metrics.MetricsError, match="not a YOTO one"):
      metrics.load_comparison(fixed_dirs[0], [yoto_dir])
  else:
    with pytest.raises(metrics.MetricsError, match="not a fixed-weight one"):
      metrics.load_comparison(yoto_dir, [yoto_dir])


def test_two_fixed_runs_at_the_same_weights_are_rejected(tmp_path):
  yoto_dir, fixed_dirs = fake_runs.write_sweep(tmp_path, fixed_betas=(8.0,))
  copy = fake_runs.write_run(
    tmp_path / "copy",
    fake_runs.tradeoff,
    (0.5, 2.0, 8.0),
    kind="fixed",
    train_beta=8.0,
  )
  with pytest.raises(metrics.MetricsError, match="both trained at"):
    metrics.load_comparison(yoto_dir, fixed_dirs + [copy])


def test_fixed_run_with_unknown_training_weights_is_rejected(tmp_path):
  yoto_dir, fixed_dirs = fake_runs.write_sweep(tmp_path, fixed_betas=(8.0,))
  os.remove(os.path.join(fixed_dirs[0], "run_config.json"))
  with open(os.path.join(fixed_dirs[0], "config.gin"), "w") as f:
    f.write("LinearlyScalarizedOptimizer.weights = @train/DistributionSpec\n")
  with pytest.raises(metrics.MetricsError, match="Cannot tell which weights"):
    metrics.load_comparison(yoto_dir, fixed_dirs)
