"""Tests of the training loop: strategies, seeds, the NaN guard, decay."""

from fake_problem import LinearProblem
import numpy as np
import pytest
import tensorflow as tf

from yoto.optimizers import scalarization
from yoto.optimizers import yoto
from yoto.training import params
from yoto.training import trainer as trainer_lib
from yoto.training import training_state as state_lib
from yoto.weights import distributions as d

GLOBAL_BATCH = 8
X = np.linspace(0.5, 4.0, 64, dtype=np.float32).reshape(64, 1)
SPEC = d.DistributionSpec(
  d.DistributionType.LOG_UNIFORM,
  [{"low": 0.5, "high": 8.0}, {"low": 1.0, "high": 4.0}],
)


def _dataset_fn(values=X):
  def fn(ctx):
    batch = ctx.get_per_replica_batch_size(GLOBAL_BATCH)
    return (
      tf.data.Dataset.from_tensor_slices({"x": values})
      .repeat()
      .batch(batch, drop_remainder=True)
    )

  return fn


def _trainer(
  tmp_path,
  strategy,
  conditioned,
  steps=4,
  lr=0.05,
  wd=0.0,
  conditioning_variable=False,
  separate=False,
):
  problem = LinearProblem(conditioning_variable=conditioning_variable)
  if conditioned:
    mlo = yoto.YotoOptimizer(
      problem,
      train_distribution_spec_class=SPEC,
      extra_inputs_preprocessing=d.TransformType.LOG,
    )
  else:
    mlo = scalarization.LinearlyScalarizedOptimizer(
      problem, {"a_loss": 1.0, "b_loss": 0.5}
    )
  spec = {"x": tf.TensorSpec([None, 1], tf.float32)}
  factory = lambda **kw: params.adam_optimizer(**kw)
  training = params.TrainingParams(initial_lr=lr, weight_decay=wd)
  state = state_lib.TrainingState(
    strategy,
    mlo,
    spec,
    factory,
    training,
    factory if separate else None,
    params.TrainingParams(initial_lr=lr, weight_decay=0.0)
    if separate
    else None,
  )
  config = trainer_lib.LoopConfig(
    train_steps=steps,
    global_batch_size=GLOBAL_BATCH,
    iterations_per_loop=2,
    save_checkpoints_steps=2,
    seed=7,
  )
  return trainer_lib.Trainer(state, config, str(tmp_path))


def _mirrored():
  devices = tf.config.list_logical_devices("CPU")
  assert len(devices) >= 2, "conftest should provide two logical CPUs"
  return tf.distribute.MirroredStrategy([d.name for d in devices[:2]])


def test_mirrored_matches_one_device_for_the_same_global_batch(tmp_path):
  single = _trainer(tmp_path / "single", tf.distribute.get_strategy(), False)
  single.train(_dataset_fn())
  mirrored = _trainer(tmp_path / "mirrored", _mirrored(), False)
  mirrored.train(_dataset_fn())
  assert mirrored.state.strategy.num_replicas_in_sync == 2
  np.testing.assert_allclose(
    mirrored.state.problem.w.numpy(), single.state.problem.w.numpy(), rtol=1e-5
  )
  single_losses = [m["loss"] for _, m in single.history]
  mirrored_losses = [m["loss"] for _, m in mirrored.history]
  np.testing.assert_allclose(mirrored_losses, single_losses, rtol=1e-5)


def test_each_replica_draws_its_own_loss_weights(tmp_path):
  ones = np.ones_like(X)
  trainer = _trainer(tmp_path, _mirrored(), True, steps=2, lr=1e-9)
  trainer.train(_dataset_fn(ones))
  mlo = trainer.state.multi_loss_optimizer
  per_replica = GLOBAL_BATCH // 2

  loop_a_loss = trainer.history[0][1]["a_loss"]

  def loop_mean(replicas):
    """Expected mean a_loss over steps 0 and 1 if replicas draw like this.

    a = w * x * (1 + sum(log λ)) with w = x = 1 (the tiny lr keeps w at 1).
    """
    values = []
    for step in (0, 1):
      draws = [
        mlo.sample_weights(
          per_replica,
          tf.random.experimental.stateless_split(
            state_lib.replica_seed(7, step, r), 2
          )[0],
        )
        for r in replicas
      ]
      weights = np.concatenate([w.numpy() for w in draws])
      values.append(np.mean(1 + np.log(weights).sum(axis=1)))
    return np.mean(values)

  assert loop_a_loss == pytest.approx(loop_mean([0, 1]), rel=1e-4)
  assert loop_a_loss != pytest.approx(loop_mean([0, 0]), rel=1e-4)


def test_a_nan_loss_stops_training_and_keeps_the_last_checkpoint(tmp_path):
  values = X.copy()
  values[40:] = np.nan  # Batches 5+ (steps 6+) are poisoned.
  trainer = _trainer(tmp_path, tf.distribute.get_strategy(), False, steps=10)
  with pytest.raises(trainer_lib.NonFiniteLossError, match="intact"):
    trainer.train(_dataset_fn(values))
  latest = tf.train.latest_checkpoint(str(tmp_path))
  assert latest.endswith("ckpt-4")
  reader = tf.train.load_checkpoint(latest)
  saved = [
    reader.get_tensor(n)
    for n in reader.get_variable_to_shape_map()
    if n.startswith("problem/w")
  ]
  assert saved and np.isfinite(saved[0])


def test_weight_decay_skips_conditioning_variables(tmp_path):
  # With a zero gradient (x = 0) only decay changes the variables.
  trainer = _trainer(
    tmp_path,
    tf.distribute.get_strategy(),
    True,
    steps=2,
    lr=0.1,
    wd=1.0,
    conditioning_variable=True,
  )
  trainer.train(_dataset_fn(np.zeros_like(X)))
  problem = trainer.state.problem
  assert problem.w.numpy() == pytest.approx((1 - 0.1 * 1.0) ** 2)
  assert problem.c.numpy() == pytest.approx(0.5)


def test_separate_conditioning_optimizer_updates_only_its_variables(tmp_path):
  trainer = _trainer(
    tmp_path,
    tf.distribute.get_strategy(),
    True,
    steps=2,
    conditioning_variable=True,
    separate=True,
  )
  assert len(trainer.state.optimizers) == 2
  groups = trainer.state.variable_groups
  assert [v.name for v in groups[1]] == ["conditioning_c:0"]
  assert "conditioning_c:0" not in [v.name for v in groups[0]]
  trainer.train(_dataset_fn())
  assert int(trainer.state.conditioning_optimizer.iterations) == 2
  assert trainer.state.problem.c.numpy() != pytest.approx(0.5)


def test_resume_restores_step_and_optimizer_state(tmp_path):
  first = _trainer(tmp_path, tf.distribute.get_strategy(), False, steps=4)
  first.train(_dataset_fn())
  moments = [v.numpy() for v in first.state.optimizer.variables]
  second = _trainer(tmp_path, tf.distribute.get_strategy(), False, steps=4)
  assert second.restore_latest() == 4
  for saved, restored in zip(moments, second.state.optimizer.variables):
    np.testing.assert_array_equal(saved, restored.numpy())
  np.testing.assert_array_equal(
    second.state.problem.w.numpy(), first.state.problem.w.numpy()
  )


def test_learning_rate_schedule_is_piecewise_constant():
  training = params.TrainingParams(
    initial_lr=1.0, lr_decay_factor=0.5, lr_decay_steps_str="10,20"
  )
  schedule = training.learning_rate()
  assert [float(schedule(s)) for s in (0, 10, 11, 21)] == [1.0, 1.0, 0.5, 0.25]


@pytest.mark.parametrize(
  "kwargs, message",
  [
    (dict(initial_lr=0.0), "initial_lr"),
    (dict(initial_lr=1.0, lr_decay_steps_str="10,x"), "comma-separated"),
    (dict(initial_lr=1.0, lr_decay_steps_str="20,10"), "increasing"),
    (dict(initial_lr=1.0, weight_decay=-1.0), "weight_decay"),
  ],
)
def test_bad_training_params_are_rejected(kwargs, message):
  with pytest.raises(ValueError, match=message):
    params.TrainingParams(**kwargs)
