"""Tests of damaged-checkpoint handling (yoto.training.checkpoints) and of
the trainer resuming from the newest readable checkpoint."""

import glob
import os

from absl import logging
import numpy as np
import pytest
import tensorflow as tf
from test_trainer import _dataset_fn
from test_trainer import _trainer

from yoto.training import checkpoints


def _truncate(path, keep=0.5):
  size = os.path.getsize(path)
  with open(path, "r+b") as f:
    f.truncate(int(size * keep))


def _data_file(prefix):
  (path,) = glob.glob(prefix + ".data-*")
  return path


DAMAGES = {
  "truncated data file": lambda p: _truncate(_data_file(p)),
  "truncated index": lambda p: _truncate(p + ".index"),
  "missing data shard": lambda p: os.remove(_data_file(p)),
}


@pytest.fixture
def trained_dir(tmp_path):
  """A model_dir with checkpoints at steps 2 and 4 (tiny linear problem)."""
  trainer = _trainer(tmp_path, tf.distribute.get_strategy(), True)
  trainer.train(_dataset_fn())
  return str(tmp_path)


def _weights(prefix):
  reader = tf.train.load_checkpoint(prefix)
  return {
    name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
  }


def test_an_intact_checkpoint_has_no_damage(trained_dir):
  assert checkpoints.damage(os.path.join(trained_dir, "ckpt-4")) is None
  assert [
    os.path.basename(p) for p in checkpoints.checkpoint_prefixes(trained_dir)
  ] == ["ckpt-2", "ckpt-4"]


@pytest.mark.parametrize("kind", sorted(DAMAGES))
def test_damage_names_the_damaged_file(trained_dir, kind):
  prefix = os.path.join(trained_dir, "ckpt-4")
  expected_name = {
    "truncated data file": "ckpt-4.data-00000-of-00001",
    "truncated index": "ckpt-4.index",
    "missing data shard": "ckpt-4.data-* (none present)",
  }[kind]
  DAMAGES[kind](prefix)
  problem = checkpoints.damage(prefix)
  assert problem is not None and expected_name in problem
  assert "\n" not in problem


@pytest.mark.parametrize("kind", sorted(DAMAGES))
def test_trainer_resumes_from_the_newest_readable_checkpoint(trained_dir, kind):
  reference = _trainer(trained_dir, tf.distribute.get_strategy(), True)
  reference.state.restore(os.path.join(trained_dir, "ckpt-2"))
  damaged = os.path.join(trained_dir, "ckpt-4")
  DAMAGES[kind](damaged)
  files_before = sorted(os.path.basename(p) for p in glob.glob(damaged + ".*"))
  trainer = _trainer(trained_dir, tf.distribute.get_strategy(), True)
  with pytest.MonkeyPatch.context() as patch:
    warnings = []
    patch.setattr(
      logging, "warning", lambda msg, *args: warnings.append(msg % args)
    )
    assert trainer.restore_latest() == 2
  assert any("ckpt-4" in w and "cannot be read" in w for w in warnings)
  for got, want in zip(
    trainer.state.problem.trainable_variables,
    reference.state.problem.trainable_variables,
  ):
    np.testing.assert_array_equal(got.numpy(), want.numpy())
  # Nothing deleted: the damaged files are set aside, the good one stays.
  moved = sorted(os.listdir(os.path.join(trained_dir, checkpoints.DAMAGED_DIR)))
  assert moved == files_before
  assert checkpoints.damage(os.path.join(trained_dir, "ckpt-2")) is None
  assert tf.train.latest_checkpoint(trained_dir).endswith("ckpt-2")


def test_training_goes_on_after_a_fallback_and_keeps_the_damaged_copy(
  trained_dir,
):
  DAMAGES["truncated data file"](os.path.join(trained_dir, "ckpt-4"))
  trainer = _trainer(trained_dir, tf.distribute.get_strategy(), True)
  assert trainer.train(_dataset_fn()) == 4
  assert checkpoints.damage(os.path.join(trained_dir, "ckpt-4")) is None
  assert os.listdir(os.path.join(trained_dir, checkpoints.DAMAGED_DIR))


def test_no_readable_checkpoint_stops_with_the_files_named(trained_dir):
  for step in (2, 4):
    DAMAGES["truncated data file"](os.path.join(trained_dir, f"ckpt-{step}"))
  listing = sorted(glob.glob(os.path.join(trained_dir, "ckpt-*")))
  trainer = _trainer(trained_dir, tf.distribute.get_strategy(), True)
  with pytest.raises(
    checkpoints.NoReadableCheckpointError, match=r"ckpt-4.*ckpt-2"
  ):
    trainer.train(_dataset_fn())
  # Nothing moved.
  assert sorted(glob.glob(os.path.join(trained_dir, "ckpt-*"))) == listing
  assert not os.path.exists(os.path.join(trained_dir, checkpoints.DAMAGED_DIR))


def test_an_empty_model_dir_starts_at_step_zero(tmp_path):
  assert checkpoints.newest_readable(str(tmp_path)) is None
