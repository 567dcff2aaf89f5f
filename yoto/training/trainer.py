"""The training loop: a plain TF2 loop on a tf.distribute strategy.

Each call of the compiled loop runs `iterations_per_loop` steps
(`strategy.run` of one step per iteration) so Python overhead is paid once per
loop, as with TPUEstimator's iterations_per_loop. Between loops the host logs
progress, writes TensorBoard scalars, checks the loss is finite and saves
checkpoints every `save_checkpoints_steps` and at the end. What is trained,
and the step itself (with its seeds), is `yoto.training.training_state`.

Resume is exact: the training checkpoint also holds the input iterator
(tf.data checkpoints its position, shuffle buffer and RNG state, also for
the distributed iterators of the mirrored strategies), so a run killed at any
point and restarted ends bit-identical to one that was never interrupted.
The price is checkpoint size: the iterator's buffers (shuffle, prefetch) are
saved with it. An iterator that cannot be checkpointed (a strategy whose
iterators are not trackable), or a checkpoint written without one (by an
older yoto), is logged: that run resumes with the data stream from its
start.
"""

import dataclasses
import math
import os
import shutil
import time
from typing import Callable, Dict, Optional

from absl import logging
import tensorflow as tf

from yoto.training import checkpoints
from yoto.training import params as params_lib
from yoto.training import strategy as strategy_lib
from yoto.training import training_state as state_lib


class NonFiniteLossError(RuntimeError):
  """Training produced a NaN or Inf; the last checkpoint was left intact."""


@dataclasses.dataclass
class LoopConfig:
  """How long to train and how often to checkpoint.

  Attributes:
    train_steps: total optimisation steps of the run.
    global_batch_size: examples per step summed over replicas.
    iterations_per_loop: steps per compiled-loop call (host round trip).
    save_checkpoints_steps: checkpoint period in steps (None: only at the end
      and every loop's end rounded to 1000 steps).
    keep_checkpoint_max: how many checkpoints to keep; 0 keeps all.
    seed: run seed for the loss-weight and problem sampling.
    checkpoint_input_pipeline: save the input iterator with each checkpoint
      (exact resume; larger checkpoints: the shuffle buffer is saved too).
  """

  train_steps: int
  global_batch_size: int
  iterations_per_loop: int = 100
  save_checkpoints_steps: Optional[int] = None
  keep_checkpoint_max: int = 0
  seed: int = 0
  checkpoint_input_pipeline: bool = True

  def __post_init__(self):
    for name in ("train_steps", "global_batch_size", "iterations_per_loop"):
      if getattr(self, name) <= 0:
        raise ValueError(
          f"experiment.{name} must be positive, got {getattr(self, name)}."
        )
    if (
      self.save_checkpoints_steps is not None
      and self.save_checkpoints_steps <= 0
    ):
      raise ValueError(
        "experiment.save_checkpoints_steps must be positive or "
        f"None, got {self.save_checkpoints_steps}."
      )

  @property
  def checkpoint_every(self) -> int:
    return self.save_checkpoints_steps or 1000


def make_checkpoint_manager(
  state: state_lib.TrainingState,
  model_dir: str,
  keep_checkpoint_max: int,
  checkpoint: Optional[tf.train.Checkpoint] = None,
) -> tf.train.CheckpointManager:
  """A manager writing to model_dir (chief) or a scratch dir (other workers).

  Under MultiWorkerMirroredStrategy every worker must take part in saving;
  only the chief's copy is kept.
  """
  directory = model_dir
  if not strategy_lib.is_chief(state.strategy):
    directory = os.path.join(
      model_dir, f".worker_{strategy_lib.worker_id(state.strategy)}_tmp"
    )
  return tf.train.CheckpointManager(
    checkpoint or state.checkpoint,
    directory,
    max_to_keep=keep_checkpoint_max if keep_checkpoint_max > 0 else None,
  )


class Trainer:
  """Runs the training loop for one `TrainingState`."""

  def __init__(
    self, state: state_lib.TrainingState, config: LoopConfig, model_dir: str
  ):
    self.state = state
    self.config = config
    self.model_dir = model_dir
    self.strategy = state.strategy
    self.is_chief = strategy_lib.is_chief(self.strategy)
    # The checkpoint saved: the state's, plus the input iterator once
    # `train` tracks it.
    self.checkpoint = state.checkpoint
    self.manager = make_checkpoint_manager(
      state, model_dir, config.keep_checkpoint_max
    )
    self._writer = (
      tf.summary.create_file_writer(model_dir)
      if self.is_chief
      else tf.summary.create_noop_writer()
    )
    self._loss_names = ("loss",) + state.multi_loss_optimizer.losses_names
    self._compiled_loop = tf.function(self._loop)
    self.history = []  # (step, {loss name: mean over the loop}) per loop.

  def restore_latest(self) -> int:
    """Resumes from the newest readable checkpoint in model_dir, if any.

    A damaged newer checkpoint is logged and (by the chief) moved into
    model_dir/damaged_checkpoints/; see `yoto.training.checkpoints`.

    Raises:
      checkpoints.NoReadableCheckpointError: if model_dir has checkpoints
        and none of them can be read.
    """
    latest = tf.train.latest_checkpoint(self.model_dir)
    newest = checkpoints.newest_readable(
      self.model_dir, set_aside_damaged=self.is_chief
    )
    if newest is None:
      return 0
    if newest != latest:  # The state file changed: the manager must know.
      self.manager = make_checkpoint_manager(
        self.state,
        self.model_dir,
        self.config.keep_checkpoint_max,
        self.checkpoint,
      )
    if self.checkpoint is not self.state.checkpoint and _has_iterator(newest):
      self.checkpoint.restore(newest).assert_existing_objects_matched()
      step = self.state.step
    else:
      if self.checkpoint is not self.state.checkpoint:
        logging.warning(
          "%s holds no input pipeline state (written by an older yoto): "
          "the resumed run reads its data from the start of the stream, so "
          "it will not match an uninterrupted run bit for bit.",
          newest,
        )
      step = self.state.restore(newest)
    logging.info("Restored %s (step %d).", newest, step)
    return step

  def track_iterator(self, iterator) -> bool:
    """Saves (and restores) `iterator` with the training checkpoint.

    Returns:
      Whether it could be tracked; if not, the log says so and resumed runs
      restart the data stream.
    """
    if not isinstance(iterator, tf.__internal__.tracking.Trackable):
      logging.warning(
        "The %s strategy's input iterator cannot be checkpointed: a "
        "resumed run restarts the data stream and is not bit-identical to "
        "an uninterrupted one.",
        type(self.strategy).__name__,
      )
      return False
    self.checkpoint = tf.train.Checkpoint(
      **self.state.trackables, iterator=iterator
    )
    self.manager = make_checkpoint_manager(
      self.state,
      self.model_dir,
      self.config.keep_checkpoint_max,
      self.checkpoint,
    )
    return True

  def replica_step(
    self, features: Dict[str, tf.Tensor]
  ) -> Dict[str, tf.Tensor]:
    """`TrainingState.replica_step` with this run's seed and global batch
    (call inside `strategy.run`)."""
    return self.state.replica_step(
      features, self.config.seed, self.config.global_batch_size
    )

  def _loop(self, iterator, num_steps):
    """`num_steps` steps; returns the mean of each loss over them."""
    totals = {name: tf.constant(0.0) for name in self._loss_names}
    for _ in tf.range(num_steps):
      per_replica = self.strategy.run(self.replica_step, args=(next(iterator),))
      totals = {
        name: totals[name]
        + self.strategy.reduce(
          tf.distribute.ReduceOp.SUM, per_replica[name], axis=None
        )
        for name in self._loss_names
      }
    return {
      name: value / tf.cast(num_steps, tf.float32)
      for name, value in totals.items()
    }

  def run_steps(self, iterator, num_steps: int) -> Dict[str, tf.Tensor]:
    """Runs `num_steps` training steps in one compiled call.

    The loop `train` runs between checkpoints, without checkpointing,
    logging or the NaN guard; benchmarks time it.

    Args:
      iterator: an iterator over a distributed dataset of this trainer's
        strategy (`strategy.distribute_datasets_from_function`).
      num_steps: how many steps.

    Returns:
      The mean over the steps of 'loss' and of each named loss (scalars).
    """
    return self._compiled_loop(iterator, tf.constant(num_steps))

  def train(
    self,
    dataset_fn: Callable[[tf.distribute.InputContext], tf.data.Dataset],
    on_checkpoint: Optional[Callable[[int], None]] = None,
  ) -> int:
    """Trains until `train_steps`, resuming from model_dir's latest checkpoint.

    Args:
      dataset_fn: builds the per-replica-batched training dataset for an
        InputContext (repeated, shuffled).
      on_checkpoint: called with the step after each checkpoint is written.

    Returns:
      The final step.
    """
    # The iterator exists before the restore, which restores its position.
    iterator = iter(self.strategy.distribute_datasets_from_function(dataset_fn))
    if self.config.checkpoint_input_pipeline:
      self.track_iterator(iterator)
    step = self.restore_latest()
    total = self.config.train_steps
    if step >= total:
      logging.info(
        "Already trained to step %d >= train_steps=%d; nothing to do.",
        step,
        total,
      )
      return step
    start_time, start_step = time.time(), step
    while step < total:
      every = self.config.checkpoint_every
      next_save = min(total, (step // every + 1) * every)
      num_steps = min(self.config.iterations_per_loop, next_save - step)
      loop_start = time.time()
      means = {
        k: float(v) for k, v in self.run_steps(iterator, num_steps).items()
      }
      elapsed = time.time() - loop_start
      self._check_finite(means, step, num_steps)
      step += num_steps
      self.history.append((step, means))
      self._report(
        step,
        means,
        num_steps / max(elapsed, 1e-9),
        (step - start_step) / max(time.time() - start_time, 1e-9),
      )
      if step == next_save:
        self.save(step)
        if on_checkpoint is not None:
          on_checkpoint(step)
    return step

  def save(self, step: int) -> str:
    if not self.state.all_finite():
      raise NonFiniteLossError(
        f"Model variables became NaN/Inf before step {step}; not saving. "
        f"The last good checkpoint in {self.model_dir} is intact."
      )
    try:
      path = self._save_with_input(step)
    except (OSError, tf.errors.OpError) as e:
      raise OSError(
        f"Could not write the step-{step} checkpoint to "
        f"{self.manager.directory}: {e}. Earlier checkpoints are intact; "
        "free disk space and rerun the same command to resume."
      ) from e
    if not self.is_chief:
      shutil.rmtree(self.manager.directory, ignore_errors=True)
    logging.info("Saved checkpoint %s", path)
    return path

  def _save_with_input(self, step: int) -> str:
    """Saves a checkpoint, with the input iterator where it serializes.

    Some pipelines cannot be saved (a `tf.py_function`, e.g. tfds mock data,
    is stateful): then the iterator is dropped from this and later
    checkpoints with a warning, and resumed runs restart the data stream.
    """
    try:
      return self.manager.save(checkpoint_number=step)
    except tf.errors.FailedPreconditionError as e:
      # What serializing an iterator over a stateful op raises.
      if self.checkpoint is self.state.checkpoint:
        raise
      logging.warning(
        "The input pipeline cannot be checkpointed (%s): saving without "
        "it, so a resumed run restarts the data stream and is not "
        "bit-identical to an uninterrupted one.",
        str(e).strip().splitlines()[0],
      )
      self.checkpoint = self.state.checkpoint
      self.manager = make_checkpoint_manager(
        self.state, self.model_dir, self.config.keep_checkpoint_max
      )
      return self.manager.save(checkpoint_number=step)

  def _check_finite(self, means, step, num_steps):
    bad = {k: v for k, v in means.items() if not math.isfinite(v)}
    if bad:
      latest = tf.train.latest_checkpoint(self.model_dir)
      raise NonFiniteLossError(
        f"Non-finite training loss {bad} in steps {step + 1}-"
        f"{step + num_steps}. Stopped without saving; the last good "
        f"checkpoint ({latest or 'none yet'}) is intact. Lower the learning "
        "rate, narrow the loss-weight range, or check the input range."
      )

  def _report(self, step, means, steps_per_sec, avg_steps_per_sec):
    remaining = (self.config.train_steps - step) / max(avg_steps_per_sec, 1e-9)
    losses = ", ".join(f"{k}={v:.4g}" for k, v in means.items())
    logging.info(
      "step %d/%d: %s; %.1f steps/s, %.0f examples/s, %s left",
      step,
      self.config.train_steps,
      losses,
      steps_per_sec,
      steps_per_sec * self.config.global_batch_size,
      _format_duration(remaining),
    )
    with self._writer.as_default(step=step):
      for name, value in means.items():
        tf.summary.scalar(f"train/{name}", value)
      for i, optimizer in enumerate(self.state.optimizers):
        suffix = "" if i == 0 else "_conditioning"
        tf.summary.scalar(
          f"train/learning_rate{suffix}",
          params_lib.current_learning_rate(optimizer),
        )
      tf.summary.scalar("train/steps_per_sec", steps_per_sec)
      tf.summary.scalar(
        "train/examples_per_sec", steps_per_sec * self.config.global_batch_size
      )
    self._writer.flush()


def _has_iterator(path: str) -> bool:
  """Whether a checkpoint holds an input iterator's state."""
  names = tf.train.load_checkpoint(path).get_variable_to_shape_map()
  return any(name.startswith("iterator/") for name in names)


def _format_duration(seconds: float) -> str:
  seconds = int(seconds)
  hours, rest = divmod(seconds, 3600)
  minutes, secs = divmod(rest, 60)
  return (
    f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
  )
