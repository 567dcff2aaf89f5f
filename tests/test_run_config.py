"""Tests of yoto.analysis.run_config: literal values of saved gin configs."""

import os

from yoto.analysis import run_config

# As gin.config_str() writes them: wrapped values, references, macros.
CONFIG = """\
import yoto.configurables

# Parameters for experiment:
# ==============================================================================
experiment.dataset_name = 'photo_patches'
experiment.eval_weights = \\
    [{'kl_loss': 0.5, 'reconstruction_loss': 1.0},
     {'kl_loss': 2.0, 'reconstruction_loss': 1.0}]
experiment.optimizer_class = @LinearlyScalarizedOptimizer
experiment.preprocess_eval = 'value_range(-1,1)'
experiment.train_steps = 20

# Parameters for LinearlyScalarizedOptimizer:
# ==============================================================================
LinearlyScalarizedOptimizer.weights = \\
    {'kl_loss': 8.0, 'reconstruction_loss': 1.0}
train/DistributionSpec.distribution_type = %DistributionType.LOG_UNIFORM
"""


def test_parse_bindings_reads_wrapped_literals_and_marks_references():
  bindings = run_config.parse_bindings(CONFIG)
  assert bindings["experiment.dataset_name"] == "photo_patches"
  assert bindings["experiment.eval_weights"] == [
      {"kl_loss": 0.5, "reconstruction_loss": 1.0},
      {"kl_loss": 2.0, "reconstruction_loss": 1.0}]
  assert bindings["experiment.train_steps"] == 20
  assert bindings["experiment.optimizer_class"] is run_config.NOT_LITERAL
  assert bindings["train/DistributionSpec.distribution_type"] is \
      run_config.NOT_LITERAL
  assert "import yoto.configurables" not in bindings


def test_fixed_weights_and_eval_data_of_a_model_dir(tmp_path):
  (tmp_path / "config.gin").write_text(CONFIG)
  assert run_config.fixed_weights(str(tmp_path)) == {
      "kl_loss": 8.0, "reconstruction_loss": 1.0}
  assert run_config.eval_data(str(tmp_path)) == ("photo_patches",
                                                 "value_range(-1,1)")
  assert run_config.get_value(str(tmp_path), "experiment.optimizer_class",
                              "default") == "default"


def test_fixed_weights_in_a_string_or_from_a_distribution(tmp_path):
  (tmp_path / "config.gin").write_text(
      "LinearlyScalarizedOptimizer.weights = \"{'kl_loss': 2, "
      "'reconstruction_loss': 1}\"\n")
  assert run_config.fixed_weights(str(tmp_path)) == {
      "kl_loss": 2.0, "reconstruction_loss": 1.0}
  (tmp_path / "config.gin").write_text(
      "LinearlyScalarizedOptimizer.weights = @train/DistributionSpec\n")
  assert run_config.fixed_weights(str(tmp_path)) is None


def test_operative_config_is_the_fallback_and_no_config_reads_as_empty(
    tmp_path):
  assert run_config.read_bindings(str(tmp_path)) == {}
  assert run_config.eval_data(str(tmp_path)) == (None, None)
  (tmp_path / "operative_config.gin").write_text(CONFIG)
  assert run_config.eval_data(str(tmp_path))[0] == "photo_patches"


def test_model_dir_of_module():
  module = os.path.join("runs", "a", "hub_modules", "step-000000020")
  assert run_config.model_dir_of_module(module) == os.path.join("runs", "a")
  assert run_config.model_dir_of_module(module + os.sep) == os.path.join(
      "runs", "a")
  assert run_config.model_dir_of_module(os.path.join("exported", "m")) is None
