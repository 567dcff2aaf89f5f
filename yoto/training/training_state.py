"""What a run trains, and one optimisation step of it.

`TrainingState` holds the problem's networks, their optimizers (one, or a
second for the conditioning variables when a config asks for it), and the
checkpoint that saves them; `TrainingState.replica_step` is one step on one
replica: the YOTO (or fixed-weight) losses of a batch, their gradients,
and the update. The loop that runs steps, checkpoints and writes summaries
is `yoto.training.trainer`.

Randomness: the loss weights and the problem's own sampling for a step are
drawn from a stateless seed built from (run seed, global step, replica id),
so a run is reproducible from its seed and every replica and step draws
different weights.
"""

from typing import Dict

from absl import logging
import numpy as np
import tensorflow as tf

from yoto.architectures import conditioning as conditioning_layers
from yoto.training import params as params_lib
from yoto.training import precision


class TrainingState:
  """The networks, their optimizers and the checkpoint that holds them;
  `replica_step` trains them one step.

  Built inside `strategy.scope()`. The global step is the main optimizer's
  `iterations` counter, saved with it.
  """

  def __init__(
    self,
    strategy,
    multi_loss_optimizer,
    element_spec,
    base_optimizer_factory,
    training_params,
    conditioning_optimizer_factory=None,
    conditioning_training_params=None,
  ):
    self.strategy = strategy
    self.multi_loss_optimizer = multi_loss_optimizer
    self.problem = multi_loss_optimizer.problem
    separate = (
      conditioning_training_params is not None
      or conditioning_optimizer_factory is not None
    )
    if separate and not (
      conditioning_training_params and conditioning_optimizer_factory
    ):
      raise ValueError(
        "experiment.base_optimizer_conditioning_class and "
        "experiment.training_params_conditioning_class must be set together."
      )
    with strategy.scope():
      self.problem.initialize_model(
        element_spec,
        multi_loss_optimizer.num_conditioning_inputs,
        multi_loss_optimizer.conditioning,
      )
      variables = self.problem.trainable_variables
      # The problem's networks say which variables are conditioning ones.
      normal, conditioning = conditioning_layers.split_conditioning_variables(
        self.problem
      )
      if separate and not conditioning:
        raise ValueError(
          "A separate conditioning optimizer is configured, but the model "
          "has no conditioning variables (is it a fixed-weight model?)."
        )
      self.variable_groups = [normal, conditioning] if separate else [variables]
      self.optimizer = params_lib.make_optimizer(
        base_optimizer_factory,
        training_params,
        normal,
        normal if separate else variables,
      )
      self.optimizers = [self.optimizer]
      if separate:
        self.conditioning_optimizer = params_lib.make_optimizer(
          conditioning_optimizer_factory,
          conditioning_training_params,
          conditioning,
          conditioning,
        )
        self.optimizers.append(self.conditioning_optimizer)
      # Under float16, a LossScaleOptimizer around the built optimizer.
      self.optimizers = precision.maybe_loss_scale(self.optimizers)
      self.optimizer = self.optimizers[0]
      trackables = {"problem": self.problem, "optimizer": self.optimizer}
      if separate:
        trackables["conditioning_optimizer"] = self.conditioning_optimizer
      # The multi-loss optimizer's own state (YOTO's loss-scale estimate).
      trackables.update(multi_loss_optimizer.build_state())
    self.trackables = trackables
    self.checkpoint = tf.train.Checkpoint(**trackables)
    logging.info(
      "Model: %d trainable variables, %d parameters (%d in conditioning).",
      len(variables),
      _num_params(variables),
      _num_params(conditioning),
    )

  @property
  def step(self) -> int:
    return int(self.optimizer.iterations.numpy())

  def restore(self, path: str) -> int:
    """Restores a checkpoint; returns its step.

    Every model and optimizer variable must be in it; what else it holds
    (the training input iterator, for evaluation) is left unrestored quietly.
    """
    self.checkpoint.restore(
      path
    ).assert_existing_objects_matched().expect_partial()
    return self.step

  def all_finite(self) -> bool:
    return all(
      np.isfinite(v.numpy()).all() for v in self.problem.trainable_variables
    )

  def replica_step(
    self, features: Dict[str, tf.Tensor], run_seed: int, global_batch_size: int
  ) -> Dict[str, tf.Tensor]:
    """One optimisation step on one replica (call inside `strategy.run`).

    Args:
      features: this replica's batch, e.g. {'image': [B_replica, H, W, C]}.
      run_seed: the run's seed; with the step and the replica id it seeds
        this step's loss weights and sampling (`replica_seed`).
      global_batch_size: examples per step summed over replicas.

    Returns:
      Per-replica sums divided by the global batch: 'loss' (the scalarized
      training loss) and each named loss; summed over replicas they are the
      global-batch means.
    """
    mlo = self.multi_loss_optimizer
    replica = tf.distribute.get_replica_context().replica_id_in_sync_group
    seed = replica_seed(run_seed, self.optimizer.iterations, replica)
    with tf.GradientTape() as tape:
      total, losses, _ = mlo.train_losses(features, seed)
      # Each replica sums its examples and divides by the *global* batch;
      # the optimizer sums gradients over replicas, giving the global mean.
      loss = tf.nn.compute_average_loss(
        total, global_batch_size=global_batch_size
      )
      # Times the loss scale under float16 (mixed precision), else as is.
      scaled_loss = precision.scale_loss(self.optimizer, loss)
    groups = self.variable_groups
    gradients = precision.unscale_gradients(
      self.optimizer,
      tape.gradient(scaled_loss, [v for group in groups for v in group]),
    )
    start = 0
    for optimizer, group in zip(self.optimizers, groups):
      optimizer.apply_gradients(
        zip(gradients[start : start + len(group)], group)
      )
      start += len(group)
    sums = {"loss": loss}
    for name in mlo.losses_names:
      sums[name] = tf.reduce_sum(losses[name]) / global_batch_size
    return sums


def _num_params(variables):
  return int(sum(np.prod(v.shape) for v in variables))


def replica_seed(run_seed, step, replica_id) -> tf.Tensor:
  """The stateless seed [2] of one replica at one step."""
  return tf.random.experimental.stateless_fold_in(
    tf.stack([tf.constant(run_seed, tf.int64), tf.cast(step, tf.int64)]),
    tf.cast(replica_id, tf.int64),
  )
