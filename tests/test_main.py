"""Tests of the `python -m yoto.main` command line: errors, kill and resume."""

import os
import signal
import subprocess
import sys
import time

from conftest import config_path
from conftest import ROOT
import numpy as np
import pytest
import tensorflow as tf

from yoto import main as yoto_main
from yoto import plot
from yoto import run_config
from yoto.problems import compression
from yoto.problems import style_transfer
from yoto.problems import vae
from yoto.training import experiment

YOTO_CONFIG = config_path("photo_patches_conv_vae_yoto.gin")


def _command(*args):
  return [sys.executable, "-m", "yoto.main", *args]


def _run(*args, timeout=300):
  return subprocess.run(
    _command(*args),
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=timeout,
    env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
  )


def _assert_clean_error(result, *fragments):
  """A one-paragraph message, a non-zero exit and no traceback."""
  assert result.returncode != 0
  assert "Traceback" not in result.stderr, result.stderr[-3000:]
  for fragment in fragments:
    assert fragment in result.stderr, result.stderr[-3000:]


def test_help_documents_every_flag():
  result = _run("--helpfull")
  for flag in (
    "--model_dir",
    "--schedule",
    "--gin_config",
    "--gin_bindings",
    "--strategy",
    "--use_tpu",
    "--master",
    "--tpu",
    "--seed",
    "--validation_percent",
    "--data_dir",
    "--[no]export",
    "--[no]deterministic",
  ):
    assert flag in result.stdout


def test_missing_model_dir():
  _assert_clean_error(_run("--gin_config=" + YOTO_CONFIG), "--model_dir")


def test_unknown_schedule(tmp_path):
  _assert_clean_error(
    _run(f"--model_dir={tmp_path}", "--schedule=fit"), "schedule"
  )


def test_unknown_strategy(tmp_path):
  _assert_clean_error(
    _run(f"--model_dir={tmp_path}", "--strategy=horovod"), "strategy"
  )


def test_missing_config_file(tmp_path):
  _assert_clean_error(
    _run(f"--model_dir={tmp_path}", "--gin_config=config/nope.gin"),
    "config/nope.gin",
    "does not exist",
  )


def test_no_config_and_no_saved_config(tmp_path):
  _assert_clean_error(
    _run(f"--model_dir={tmp_path}", "--schedule=eval"), "No --gin_config given"
  )


def test_mistyped_binding_is_named(tmp_path):
  _assert_clean_error(
    _run(
      f"--model_dir={tmp_path}",
      "--gin_config=" + YOTO_CONFIG,
      "--gin_bindings=experiment.train_stepz = 3",
    ),
    "train_stepz",
  )


def test_unknown_configurable_in_a_file_names_the_file(tmp_path):
  bad = tmp_path / "bad.gin"
  bad.write_text(
    "include '%s'\nConditionalConvnett.alpha = 0.2\n" % YOTO_CONFIG
  )
  _assert_clean_error(
    _run(f"--model_dir={tmp_path / 'run'}", f"--gin_config={bad}"),
    "ConditionalConvnett",
    "bad.gin",
  )


def test_dataset_not_available_offline_says_how_to_fix(tmp_path):
  _assert_clean_error(
    _run(
      f"--model_dir={tmp_path / 'run'}",
      "--gin_config=" + config_path("cifar_conv_vae_yoto.gin"),
      f"--data_dir={tmp_path / 'empty'}",
    ),
    "cifar10",
    "--data_dir",
  )


def test_unwritable_model_dir(tmp_path):
  blocker = tmp_path / "file"
  blocker.write_text("x")
  _assert_clean_error(
    _run(f"--model_dir={blocker / 'run'}", "--gin_config=" + YOTO_CONFIG),
    "not writable",
  )


def test_killed_run_resumes_at_the_restored_step(tmp_path):
  model_dir = tmp_path / "run"
  args = [
    f"--model_dir={model_dir}",
    "--gin_config=" + YOTO_CONFIG,
    "--schedule=train",
    "--gin_bindings=experiment.train_steps = 400",
    "--gin_bindings=experiment.iterations_per_loop = 10",
    "--gin_bindings=experiment.save_checkpoints_steps = 20",
  ]
  process = subprocess.Popen(
    _command(*args),
    cwd=ROOT,
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
  )
  deadline = time.time() + 240
  try:
    while (
      time.time() < deadline
      and tf.train.latest_checkpoint(str(model_dir)) is None
    ):
      time.sleep(0.5)
  finally:
    process.send_signal(signal.SIGKILL)
    process.wait()
  killed_at = tf.train.latest_checkpoint(str(model_dir))
  assert killed_at is not None, "no checkpoint before the deadline"
  assert not os.path.exists(model_dir / "FINISHED")
  saved_step = int(killed_at.rsplit("-", 1)[1])
  assert 0 < saved_step < 400
  reader = tf.train.load_checkpoint(killed_at)
  saved_slot = _adam_slot(reader)

  result = _run(
    *args[:-3],
    f"--gin_bindings=experiment.train_steps = {saved_step + 20}",
    "--gin_bindings=experiment.iterations_per_loop = 10",
    "--gin_bindings=experiment.save_checkpoints_steps = 20",
  )
  assert result.returncode == 0, result.stderr[-3000:]
  assert f"(step {saved_step})" in result.stderr  # The restore log line.
  final = tf.train.latest_checkpoint(str(model_dir))
  assert final.endswith(f"ckpt-{saved_step + 20}")
  reader = tf.train.load_checkpoint(final)
  assert (
    reader.get_tensor("optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE")
    == saved_step + 20
  )
  # Adam's moments were saved, and the restart restores them (TrainingState
  # asserts every saved object is matched), then trains on from them.
  assert np.abs(saved_slot).sum() > 0
  assert not np.array_equal(saved_slot, _adam_slot(reader))
  assert os.path.exists(model_dir / "FINISHED")


def _adam_slot(reader):
  names = [
    n
    for n in reader.get_variable_to_shape_map()
    if n.startswith("optimizer/_variables/")
  ]
  assert names, "no Adam slot variables in the checkpoint"
  return reader.get_tensor("optimizer/_variables/1/.ATTRIBUTES/VARIABLE_VALUE")


def test_eval_without_gin_config_uses_the_saved_one(tmp_path):
  model_dir = tmp_path / "run"
  result = _run(
    f"--model_dir={model_dir}",
    "--gin_config=" + YOTO_CONFIG,
    "--schedule=train",
    "--gin_bindings=experiment.train_steps = 2",
    "--gin_bindings=experiment.iterations_per_loop = 1",
    "--gin_bindings=experiment.save_checkpoints_steps = 2",
    "--gin_bindings=experiment.eval_steps = 1",
    "--deterministic",
  )
  assert result.returncode == 0, result.stderr[-3000:]
  assert (model_dir / "config.gin").exists()
  assert (model_dir / "operative_config.gin").exists()
  # The flag made the process deterministic before the run checked it.
  assert run_config.read(str(model_dir)).deterministic is True
  result = _run(
    f"--model_dir={model_dir}", "--schedule=eval", "--eval_timeout_secs=5"
  )
  assert result.returncode == 0, result.stderr[-3000:]
  assert "hub module:" in result.stdout
  # The Figure-3-style grid of a YOTO VAE is drawn at the end.
  grid = model_dir / "plots" / "beta_grid.png"
  assert grid.stat().st_size > 1000
  assert f"plot:          {grid}" in result.stdout
  assert (
    model_dir / "hub_modules" / "step-000000002" / "saved_model.pb"
  ).exists()


@pytest.mark.parametrize(
  "conditioned, after_run_plot", [(False, "grid"), (True, None)]
)
def test_no_after_run_plot_unless_conditioned_and_asked_for(
  conditioned, after_run_plot
):
  result = experiment.ExperimentResult(
    "run",
    hub_module="run/hub_modules/step-000000001",
    conditioned=conditioned,
    after_run_plot=after_run_plot,
  )
  # pylint: disable-next=protected-access
  assert yoto_main._draw_after_run_plot(result) == []


def test_problems_ask_for_plots_that_yoto_plot_draws():
  assert vae.ConditionalVaeProblem.after_run_plot == "grid"
  assert compression.HyperpriorCompressionProblem.after_run_plot is None
  assert style_transfer.StyleTransferProblem.after_run_plot is None
  with pytest.raises(SystemExit) as exit_info:  # --help of the subcommand.
    plot.draw([vae.ConditionalVaeProblem.after_run_plot, "--help"])
  assert exit_info.value.code == 0
