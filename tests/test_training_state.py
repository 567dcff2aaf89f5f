"""Tests of yoto.training.training_state: one step divides by the global
batch and updates every variable group, the conditioning optimizer's
settings are checked, and every replica and step gets its own seed."""

from fake_problem import LinearProblem
import numpy as np
import pytest
import tensorflow as tf

from yoto.optimizers import scalarization
from yoto.optimizers import yoto
from yoto.training import params
from yoto.training import training_state as state_lib
from yoto.weights import distributions as d

X = np.linspace(0.5, 4.0, 8, dtype=np.float32).reshape(8, 1)
LR = 0.1


def _adam(**kwargs):
  return params.adam_optimizer(**kwargs)


def _fixed_weight_state(
  conditioning_variable=False,
  optimizer_factory=_adam,
  strategy=None,
  **conditioning,
):
  """a + 0.5 b of a LinearProblem (full loss 2 w mean(x))."""
  problem = LinearProblem(conditioning_variable=conditioning_variable)
  return state_lib.TrainingState(
    strategy or tf.distribute.get_strategy(),
    scalarization.LinearlyScalarizedOptimizer(
      problem, {"a_loss": 1.0, "b_loss": 0.5}
    ),
    {"x": tf.TensorSpec([None, 1], tf.float32)},
    optimizer_factory,
    params.TrainingParams(initial_lr=LR),
    **conditioning,
  )


def _step(state, global_batch_size):
  run = lambda features: state.replica_step(features, 7, global_batch_size)
  return tf.function(lambda: state.strategy.run(run, args=({"x": X},)))()


def test_a_step_divides_by_the_global_batch_and_updates_the_weights():
  state = _fixed_weight_state()
  # This replica holds half of a global batch of 16.
  sums = _step(state, global_batch_size=16)
  assert float(sums["loss"]) == pytest.approx(0.5 * 2 * X.mean(), rel=1e-6)
  assert float(sums["a_loss"]) == pytest.approx(0.5 * X.mean(), rel=1e-6)
  assert state.step == 1
  # Adam's first step moves w by the learning rate against the gradient.
  assert float(state.problem.w) == pytest.approx(1.0 - LR, rel=1e-4)


def _first_moment(optimizer, variable_name):
  (moment,) = [
    v for v in optimizer.variables if v.name == f"m/{variable_name}:0"
  ]
  return float(moment.numpy())


@pytest.mark.parametrize(
  "clip, replicas, gradient",
  [(None, 1, X.mean()), (0.5, 1, 0.5), (None, 2, 2 * X.mean()), (0.5, 2, 0.5)],
)
def test_global_clipnorm_bounds_the_summed_gradient_adam_sees(
  clip, replicas, gradient
):
  # Each replica holds X, half of a global batch of 16 (full loss
  # 2 w mean(x)), and adds mean(x) = 2.25 to the gradient of w. Adam's first
  # moment after one step is 0.1 of the replicas' sum, of the clipped sum
  # when its norm is above the clip (clipping each replica's part before
  # the sum would give 0.1 x 2 x 0.5 with two).
  strategy = (
    tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    if replicas == 2
    else None
  )
  state = _fixed_weight_state(
    optimizer_factory=lambda **kw: _adam(global_clipnorm=clip, **kw),
    strategy=strategy,
  )
  _step(state, global_batch_size=16)
  assert _first_moment(state.optimizer, "w") == pytest.approx(
    0.1 * gradient, rel=1e-5
  )


@pytest.mark.parametrize("clip", [0.0, -1.0])
def test_a_non_positive_global_clipnorm_is_refused(clip):
  with pytest.raises(ValueError, match="global_clipnorm must be a positive"):
    _adam(learning_rate=LR, global_clipnorm=clip)


def test_a_separate_optimizer_updates_the_conditioning_variables():
  state = _fixed_weight_state(
    conditioning_variable=True,
    conditioning_optimizer_factory=_adam,
    conditioning_training_params=params.TrainingParams(initial_lr=LR),
  )
  assert [[v.name for v in group] for group in state.variable_groups] == [
    ["w:0"],
    ["conditioning_c:0"],
  ]
  _step(state, global_batch_size=8)
  assert int(state.conditioning_optimizer.iterations) == 1
  assert float(state.problem.c) == pytest.approx(0.5 - LR, rel=1e-4)


def test_the_problem_is_built_with_the_optimizers_conditioning():
  # What a `conditioning_input_offset` of 'centre' is resolved from.
  state = _fixed_weight_state()
  problem = state.problem
  assert problem.conditioning is state.multi_loss_optimizer.conditioning
  assert problem.conditioning.fixed_weights == {"a_loss": 1.0, "b_loss": 0.5}


def test_the_checkpoint_holds_the_yoto_optimizers_own_state():
  spec = d.DistributionSpec(
    d.DistributionType.LOG_UNIFORM,
    [{"low": 0.5, "high": 8.0}, {"low": 1.0, "high": 4.0}],
  )
  optimizer = yoto.YotoOptimizer(
    LinearProblem(),
    train_distribution_spec_class=spec,
    extra_inputs_preprocessing=d.TransformType.LOG,
    balance_loss_scale=True,
  )
  state = state_lib.TrainingState(
    tf.distribute.get_strategy(),
    optimizer,
    {"x": tf.TensorSpec([None, 1], tf.float32)},
    _adam,
    params.TrainingParams(initial_lr=LR),
  )
  assert state.trackables["loss_scale_estimate"] is (
    optimizer.loss_scale_estimate
  )
  _step(state, global_batch_size=8)
  assert int(optimizer.loss_scale_estimate.updates) == 1


def test_conditioning_optimizer_settings_are_checked():
  with pytest.raises(ValueError, match="must be set together"):
    _fixed_weight_state(conditioning_optimizer_factory=_adam)
  with pytest.raises(ValueError, match="no conditioning variables"):
    _fixed_weight_state(
      conditioning_optimizer_factory=_adam,
      conditioning_training_params=params.TrainingParams(initial_lr=LR),
    )


def test_every_replica_and_step_has_its_own_seed():
  seeds = {
    tuple(state_lib.replica_seed(7, step, replica).numpy())
    for step in (0, 1)
    for replica in (0, 1)
  }
  assert len(seeds) == 4
  np.testing.assert_array_equal(
    state_lib.replica_seed(7, 1, 1), state_lib.replica_seed(7, 1, 1)
  )
