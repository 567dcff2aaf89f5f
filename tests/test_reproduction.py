"""Tests of benchmarks/reproduction, the shared runner of the reproductions:
the training schedule rescaled to a run's steps."""

import os
import sys

import pytest

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


def test_combined_variants_chain_the_bindings_of_their_parts_in_order():
  variants = {
    "a": ("a", lambda x: [f"A = {x}"]),
    "b": ("b", lambda x: [f"B = {x}", "C = 1"]),
  }
  reproduction.combine_variants(variants, "ab", "b", "a")
  assert variants["ab"][0] == "b and a together"
  assert variants["ab"][1](3) == ["B = 3", "C = 1", "A = 3"]
  with pytest.raises(ValueError, match="unknown variants \\['c'\\]"):
    reproduction.combine_variants(variants, "ac", "a", "c")
