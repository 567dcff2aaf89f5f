"""Tests of benchmarks/reproduction, the shared runner of the reproductions:
the training schedule rescaled to a run's steps."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import reproduction
# pylint: enable=g-import-not-at-top,wrong-import-position


def test_schedule_bindings_rescale_the_decay_boundaries():
  bindings = reproduction.schedule_bindings(4000, (0.5, 0.75))
  assert "TrainingParams.lr_decay_steps_str = '2000,3000'" in bindings
  # Eight evaluations by default: the learning curves.
  assert "experiment.save_checkpoints_steps = 500" in bindings
  assert "experiment.save_checkpoints_steps = 4000" in (
    reproduction.schedule_bindings(4000, (0.5, 0.75), evals=1)
  )
  # Tiny runs keep strictly increasing boundaries.
  assert (
    "TrainingParams.lr_decay_steps_str = '2,3'"
    in reproduction.schedule_bindings(4, (0.5, 0.75))
  )
