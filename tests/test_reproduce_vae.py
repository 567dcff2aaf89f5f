"""Tests of the β-VAE reproduction (benchmarks/reproduce_vae and its report,
vae_report): the protocol end to end in --tiny mode over two seeds, resuming
instead of retraining, every variant's bindings, and the wider model."""

import json
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import common
from benchmarks import reproduce_vae
from yoto import results
# pylint: enable=g-import-not-at-top,wrong-import-position


def test_reproduction_protocol_seeds_curves_convergence_and_resume(tmp_path):
  """Two seeds, three evaluations each: the gap table with intervals, the
  convergence statements, the learning curves and the figures; a rerun
  trains nothing and reproduces the results."""
  models, out = tmp_path / "models", tmp_path / "out"
  args = [
    "--tiny",
    "--setting=photo_patches",
    "--steps=6",
    "--betas=2,32",
    "--seeds=2",
    "--evals=3",
    "--no_export",
    f"--model_root={models}",
    f"--out_dir={out}",
  ]
  variants = ["--variants=yoto,yoto_same_compute"]
  first = reproduce_vae.main(args + variants)
  assert set(first["timings"]) == {
    "fixed_beta2",
    "fixed_beta32",
    "yoto",
    "yoto_same_compute",
  }
  # Two fixed models: the same-compute YOTO model trains twice as long and
  # is compared at its own last step.
  assert first["method_steps"] == {"yoto_same_compute": 12}
  assert set(first["timings"]["yoto"]) == {0, 1}
  assert first["seeds"] == [0, 1] and first["compared_step"] == 6
  assert [row["beta"] for row in first["gaps"]] == [2.0, 32.0]
  for row in first["gaps"]:
    for method in ("yoto", "single_model"):
      gap = row["gaps"][method]
      assert np.isfinite(gap["mean"]) and gap["n"] == 2
      assert gap["half_width"] is not None and gap["half_width"] >= 0
  assert first["single_model"] in ("fixed_beta2", "fixed_beta32")
  for model, statement in first["convergence"].items():
    last = 12 if model == "yoto_same_compute" else 6
    assert statement["to_step"] == last, model
    assert statement["from_step"] == 2 * last // 3, model
  assert first["cpu_seconds"]["fixed_sweep"] > first["cpu_seconds"]["yoto"]
  for name in (
    "frontier",
    "full_loss",
    "learning_curves",
    "variants",
    "figure3_reconstructions",
    "figure3_samples",
  ):
    assert (
      os.path.getsize(out / f"reproduce_vae_photo_patches_{name}.png") > 1000
    )
  with open(out / "reproduce_vae_photo_patches.json") as f:
    assert "benchmarks.reproduce_vae" in json.load(f)["command"]
  assert os.path.getsize(out / "reproduce_vae_photo_patches.md") > 100
  assert first["setting"] == "photo_patches"
  assert sorted(
    results.evaluated_steps(str(models / "steps6" / "seed1" / "yoto"))
  ) == [2, 4, 6]

  # A rerun finds everything finished: only the analysis runs.
  yoto_metrics = results.metrics_path(str(models / "steps6" / "seed0" / "yoto"))
  before = os.path.getmtime(yoto_metrics)
  second = reproduce_vae.main(args + variants)
  assert os.path.getmtime(yoto_metrics) == before
  assert second["gaps"] == first["gaps"]


def test_every_vae_variant_builds():
  """Each named YOTO variant's bindings build a model (the ablations)."""
  betas = [0.5, 512.0]
  arch = common.ARCHITECTURES["procedural_shapes"]
  for spec in reproduce_vae.model_specs(betas, list(reproduce_vae.VARIANTS)):
    if spec.is_yoto:
      state = common.build_state(
        spec.config,
        reproduce_vae.shared_bindings(4, betas) + list(spec.bindings),
        arch.image_shape,
        batch_size=2,
      )
      assert state.problem.encoder is not None, spec.name


def test_wide_bindings_widen_channels_and_hidden_layers():
  arch = common.ARCHITECTURES["photo_patches"]
  config = arch.yoto_config
  base = common.build_state(config, (), arch.image_shape, batch_size=2)
  wide = common.build_state(
    config,
    reproduce_vae.widen_bindings(config, 1.5),
    arch.image_shape,
    batch_size=2,
  )
  for name in ("encoder", "decoder"):
    narrow_net = getattr(base.problem, name)
    wide_net = getattr(wide.problem, name)
    assert wide_net.base_num_channels == 1.5 * narrow_net.base_num_channels
    assert wide_net.conditioning_layer_sizes == [
      1.5 * n for n in narrow_net.conditioning_layer_sizes
    ]
  # The latent size (2 x 32 encoder outputs) is unchanged.
  assert wide.problem.encoder.fc_layer_sizes[-1] == 64
  assert wide.problem.decoder.upconv_reshape_size == [4, 4, 96]
  ratio = common.num_params(
    wide.problem.trainable_variables
  ) / common.num_params(base.problem.trainable_variables)
  assert 1.8 < ratio < 2.4  # About 1.5 squared.


def test_batch_variant_doubles_the_training_batch_only():
  config = common.ARCHITECTURES["procedural_shapes"].yoto_config
  batch = reproduce_vae.yoto_config_value("experiment.batch_size", config)
  (spec,) = [
    s
    for s in reproduce_vae.model_specs([0.5, 512.0], ["yoto_batch2x"])
    if s.is_yoto
  ]
  assert spec.bindings == (f"experiment.batch_size = {2 * batch}",)


@pytest.mark.parametrize("second", ["balanced", "normalized"])
def test_combined_variant_has_the_bindings_of_both_parts(second):
  names = ["yoto_centred", f"yoto_{second}", f"yoto_centred_{second}"]
  specs = {s.name: s for s in reproduce_vae.model_specs([0.5, 512.0], names)}
  assert specs[names[2]].bindings == (
    specs[names[0]].bindings + specs[names[1]].bindings
  )


def test_unknown_vae_variant_is_named_in_the_error():
  with pytest.raises(SystemExit, match="Unknown --variants yoto_bogus"):
    reproduce_vae.variant_names("yoto,yoto_bogus")
  assert reproduce_vae.variant_names("all") == list(reproduce_vae.VARIANTS)


def test_reproduction_gin_bindings_reach_every_model(tmp_path):
  """--gin_bindings sets the whole reproduction's setting: fixed and YOTO
  models alike are built with it."""
  models = tmp_path / "models"
  reproduce_vae.main(
    [
      "--tiny",
      "--steps=2",
      "--betas=2,32",
      "--seeds=1",
      "--evals=1",
      "--variants=yoto",
      "--no_export",
      "--only=yoto,fixed_beta2",
      "--gin_bindings=ConditionalVaeProblem.epsilon = 0.0123",
      f"--model_root={models}",
      f"--out_dir={tmp_path / 'out'}",
    ]
  )
  for model in ("yoto", "fixed_beta2"):
    operative = (
      models / "steps2" / "seed0" / model / "operative_config.gin"
    ).read_text()
    assert "ConditionalVaeProblem.epsilon = 0.0123" in operative, model
