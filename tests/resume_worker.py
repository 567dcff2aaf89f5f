"""A tiny training run for the exact-resume test, also run as a process.

  python tests/resume_worker.py MODEL_DIR

trains the linear test problem on a shuffled, repeated dataset for
`STEPS` steps with a checkpoint every two, printing 'saved STEP' after each
checkpoint and pausing briefly, so a test can kill it between checkpoints.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np
import tensorflow as tf

from fake_problem import LinearProblem
from yoto.optimizers import yoto
from yoto.training import params
from yoto.training import trainer as trainer_lib
from yoto.training import training_state as state_lib
from yoto.weights import distributions as d

STEPS = 12
GLOBAL_BATCH = 8
PAUSE_AFTER_CHECKPOINT_SECS = 0.5
X = np.linspace(0.5, 4.0, 40, dtype=np.float32).reshape(40, 1)
SPEC = d.DistributionSpec(
  d.DistributionType.LOG_UNIFORM,
  [{"low": 0.5, "high": 8.0}, {"low": 1.0, "high": 4.0}],
)


def dataset_fn(ctx):
  """Shuffled with a seed and reshuffled every epoch: the stream has state."""
  batch = ctx.get_per_replica_batch_size(GLOBAL_BATCH)
  return (
    tf.data.Dataset.from_tensor_slices({"x": X})
    .shuffle(len(X), seed=3, reshuffle_each_iteration=True)
    .repeat()
    .batch(batch, drop_remainder=True)
    .prefetch(2)
  )


def make_trainer(
  model_dir: str, strategy, checkpoint_input_pipeline: bool = True
) -> trainer_lib.Trainer:
  mlo = yoto.YotoOptimizer(
    LinearProblem(),
    train_distribution_spec_class=SPEC,
    extra_inputs_preprocessing=d.TransformType.LOG,
  )
  state = state_lib.TrainingState(
    strategy,
    mlo,
    {"x": tf.TensorSpec([None, 1], tf.float32)},
    lambda **kw: params.adam_optimizer(**kw),
    params.TrainingParams(initial_lr=0.05),
  )
  config = trainer_lib.LoopConfig(
    train_steps=STEPS,
    global_batch_size=GLOBAL_BATCH,
    iterations_per_loop=1,
    save_checkpoints_steps=2,
    seed=7,
    checkpoint_input_pipeline=(checkpoint_input_pipeline),
  )
  return trainer_lib.Trainer(state, config, model_dir)


def main(argv):
  trainer = make_trainer(argv[1], tf.distribute.get_strategy())

  def report(step):
    print(f"saved {step}", flush=True)
    time.sleep(PAUSE_AFTER_CHECKPOINT_SECS)

  trainer.train(dataset_fn, on_checkpoint=report)
  print("done", flush=True)


if __name__ == "__main__":
  main(sys.argv)
