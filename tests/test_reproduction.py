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


def _started(model_dir, spec, bindings):
  """A model directory as `train` leaves it when it starts: config saved."""
  os.makedirs(model_dir)
  with open(os.path.join(model_dir, "config.gin"), "w") as f:
    f.write(reproduction.parsed_config(spec, bindings))


def test_a_model_started_with_another_config_stops_the_run_before_training(
  tmp_path, monkeypatch
):
  trained = []
  monkeypatch.setattr(
    reproduction, "train", lambda spec, *args, **kwargs: trained.append(spec)
  )
  config = "procedural_shapes_conv_vae_fixed.gin"
  new = reproduction.ModelSpec("new", config)
  same = reproduction.ModelSpec("same", config)
  changed = reproduction.ModelSpec("changed", config)
  shared = ["experiment.train_steps = 7"]
  seed0 = reproduction.seed_dir(str(tmp_path), 0)
  _started(os.path.join(seed0, "same"), same, shared)
  _started(
    os.path.join(seed0, "changed"),
    changed,
    ["experiment.train_steps = 5"],
  )
  specs = [new, same, changed]
  with pytest.raises(reproduction.ConfigChangedError) as raised:
    reproduction.train_all(specs, str(tmp_path), 7, shared, [0])
  message = str(raised.value)
  assert "changed seed 0" in message
  assert "-experiment.train_steps = 5" in message
  assert "+experiment.train_steps = 7" in message
  assert "--reuse=changed" in message
  assert trained == []  # Not even the models before it.
  # Named in `reuse`, the model is taken as it is, and the run goes on.
  reproduction.train_all(
    specs, str(tmp_path), 7, shared, [0], reuse=["changed"]
  )
  assert [spec.name for spec in trained] == ["new", "same", "changed"]


def test_only_the_configurables_a_model_used_can_make_it_stale(tmp_path):
  spec = reproduction.ModelSpec("fixed", "procedural_shapes_conv_vae_fixed.gin")
  shared = ["experiment.train_steps = 7"]
  model_dir = str(tmp_path / "fixed")
  _started(model_dir, spec, shared)
  yoto_only = shared + ["YotoOptimizer.normalize_loss_weights = True"]
  # Without its operative config every configurable counts.
  assert "+YotoOptimizer.normalize_loss_weights = True" in (
    reproduction.config_change(spec, model_dir, yoto_only)
  )
  with open(os.path.join(model_dir, "operative_config.gin"), "w") as f:
    f.write(
      "# Parameters for experiment:\n# " + "=" * 78 + "\n"
      "experiment.train_steps = 7\n"
    )
  assert reproduction.config_change(spec, model_dir, yoto_only) is None
  assert "+experiment.train_steps = 9" in reproduction.config_change(
    spec, model_dir, ["experiment.train_steps = 9"]
  )


def test_config_blocks_cut_a_gin_config_by_configurable():
  text = (
    "import yoto\n\n# Parameters for a/B:\n# ====\na/B.x = \\\n    [1,\n     2]\n"
    "\n# Parameters for C:\n# ====\nC.y = 'z'\n"
  )
  assert reproduction.config_blocks(text) == {
    "": "import yoto",
    "a/B": "a/B.x = \\\n    [1,\n     2]",
    "C": "C.y = 'z'",
  }


def test_a_config_change_ends_the_command_with_its_message_alone():
  def main():
    raise reproduction.ConfigChangedError(
      "m seed 0: trained with another config"
    )

  with pytest.raises(SystemExit) as ended:
    reproduction.run_command_line(main)
  assert str(ended.value) == "error: m seed 0: trained with another config"
  assert ended.value.__cause__ is None


def test_a_model_is_restored_with_the_config_it_was_trained_with(tmp_path):
  # Kept with --reuse, a model must compute what it computed in training
  # even where today's config (or a default) differs: a narrower encoder
  # here, which today's bindings would build 4x wider.
  spec = reproduction.ModelSpec("fixed", "procedural_shapes_conv_vae_fixed.gin")
  tiny = [
    "experiment.train_steps = 1",
    "experiment.batch_size = 2",
    "experiment.eval_batch_size = 2",
    "experiment.eval_steps = 1",
  ]
  narrow = ["encoder/ConditionalConvnet.base_num_channels = 4"]
  seed0 = reproduction.seed_dir(str(tmp_path), 0)
  reproduction.train(
    spec, os.path.join(seed0, "fixed"), tiny + narrow, seed=0, export=False
  )
  state = reproduction.restore_state(spec, seed0, tiny, (32, 32, 3), 2)
  first_kernel = state.problem.encoder.trainable_variables[0]
  assert first_kernel.shape == (3, 3, 3, 4), first_kernel
