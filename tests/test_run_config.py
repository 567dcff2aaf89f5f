"""Tests of yoto.run_config: the record of a run's settings, and old runs."""

import os

import pytest

from yoto import run_config

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

RECORD = run_config.RunConfig(
  problem="ConditionalVaeProblem",
  optimizer="YotoOptimizer",
  model="yoto",
  loss_names=("kl_loss", "reconstruction_loss"),
  train_distribution={
    "type": "LOG_UNIFORM",
    "preprocessing": "log",
    "ranges": {"kl_loss": [0.125, 512.0], "reconstruction_loss": [1.0, 1.0]},
  },
  eval_weights=({"kl_loss": 0.5, "reconstruction_loss": 1.0},),
  dataset_name="photo_patches",
  preprocess="value_range(-1,1)",
  preprocess_eval="value_range(-1,1)",
  batch_size=32,
  eval_batch_size=64,
  train_steps=20,
  eval_steps=2,
  eval_on_test=False,
  seed=3,
  validation_percent=20,
)


def test_a_written_record_reads_back_equal_and_wins_over_config_gin(tmp_path):
  (tmp_path / "config.gin").write_text(CONFIG)
  written = run_config.write(str(tmp_path), RECORD)
  assert written == str(tmp_path / "run_config.json")
  read = run_config.read(str(tmp_path))
  assert read == RECORD
  assert read.source == written
  assert not os.path.exists(written + ".tmp")


def test_write_creates_the_model_dir(tmp_path):
  model_dir = tmp_path / "new" / "run"
  run_config.write(str(model_dir), RECORD)
  assert run_config.read(str(model_dir)) == RECORD


def test_from_json_ignores_unknown_keys_and_rejects_other_versions():
  text = RECORD.to_json().replace(
    '"format_version": 1', '"format_version": 1, "future": 7'
  )
  assert run_config.RunConfig.from_json(text) == RECORD
  with pytest.raises(run_config.RunConfigError, match="format_version 2"):
    run_config.RunConfig.from_json(
      RECORD.to_json().replace('"format_version": 1', '"format_version": 2')
    )


@pytest.mark.parametrize(
  "text, message",
  [("{not json", "not valid JSON"), ("[1, 2]", "no JSON object")],
)
def test_a_broken_record_says_how_to_recover(tmp_path, text, message):
  (tmp_path / "run_config.json").write_text(text)
  with pytest.raises(run_config.RunConfigError, match=f"{message}.*delete it"):
    run_config.read(str(tmp_path))


def test_parse_bindings_reads_wrapped_literals_and_marks_references():
  bindings = run_config.parse_bindings(CONFIG)
  assert bindings["experiment.dataset_name"] == "photo_patches"
  assert bindings["experiment.eval_weights"] == [
    {"kl_loss": 0.5, "reconstruction_loss": 1.0},
    {"kl_loss": 2.0, "reconstruction_loss": 1.0},
  ]
  assert bindings["experiment.train_steps"] == 20
  assert bindings["experiment.optimizer_class"] is run_config.NOT_LITERAL
  assert (
    bindings["train/DistributionSpec.distribution_type"]
    is run_config.NOT_LITERAL
  )
  assert "import yoto.configurables" not in bindings


def test_an_old_run_is_read_from_its_config_gin(tmp_path):
  (tmp_path / "config.gin").write_text(CONFIG)
  config = run_config.read(str(tmp_path))
  assert config.train_weights == {"kl_loss": 8.0, "reconstruction_loss": 1.0}
  assert config.dataset_name == "photo_patches"
  assert config.preprocess_eval == "value_range(-1,1)"
  assert config.train_steps == 20
  assert config.eval_weights == (
    {"kl_loss": 0.5, "reconstruction_loss": 1.0},
    {"kl_loss": 2.0, "reconstruction_loss": 1.0},
  )
  assert config.optimizer is None  # A reference, not a literal.
  assert config.source == str(tmp_path / "config.gin")


def test_old_fixed_weights_in_a_string_or_from_a_distribution(tmp_path):
  (tmp_path / "config.gin").write_text(
    "LinearlyScalarizedOptimizer.weights = \"{'kl_loss': 2, "
    "'reconstruction_loss': 1}\"\n"
  )
  assert run_config.read(str(tmp_path)).train_weights == {
    "kl_loss": 2.0,
    "reconstruction_loss": 1.0,
  }
  (tmp_path / "config.gin").write_text(
    "LinearlyScalarizedOptimizer.weights = @train/DistributionSpec\n"
  )
  assert run_config.read(str(tmp_path)).train_weights is None


def test_operative_config_is_the_fallback_and_nothing_reads_as_unknown(
  tmp_path,
):
  assert run_config.read(str(tmp_path)) == run_config.RunConfig()
  assert run_config.read(str(tmp_path)).source is None
  (tmp_path / "operative_config.gin").write_text(CONFIG)
  assert run_config.read(str(tmp_path)).dataset_name == "photo_patches"
