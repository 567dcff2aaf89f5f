"""The λ-conditioned compression problem (yoto.problems.compression)."""

import numpy as np
import pytest
import tensorflow as tf
import tiny_codecs
import tiny_compression_runs

from yoto import results
from yoto.architectures import conditioning as conditioning_layers
from yoto.export import compression as compression_export
from yoto.problems import compression
from yoto.weights import contract


@pytest.fixture(name="problem", scope="module")
def problem_fixture():
  tf.random.set_seed(0)
  return tiny_codecs.problem()


@pytest.fixture(name="runs", scope="module")
def runs_fixture(tmp_path_factory):
  return tiny_compression_runs.get(tmp_path_factory)


def test_film_starts_near_identity():
  problem = tiny_codecs.problem()
  for lmbda in tiny_codecs.LAMBDA_RANGE:
    film = problem.analysis_transform.films[0]
    # The transform centres log λ before its FiLM layers.
    scales, shifts = film.scales_and_shifts(
      tiny_codecs.inputs_extra(lmbda, 1) - tiny_codecs.OFFSET
    )
    np.testing.assert_allclose(scales, 1.0, atol=0.15)
    np.testing.assert_allclose(shifts, 0.0, atol=0.15)


def test_offset_must_have_one_entry_per_loss():
  problem = compression.HyperpriorCompressionProblem(
    num_filters=tiny_codecs.FILTERS, conditioning_input_offset=[-4.0]
  )
  with pytest.raises(ValueError, match="one per loss"):
    problem.initialize_model({"image": tf.TensorSpec([None, 32, 32, 3])}, 2)


def test_an_unknown_offset_string_is_rejected():
  with pytest.raises(ValueError, match="write 'centre'"):
    compression.HyperpriorCompressionProblem(conditioning_input_offset="mid")


def test_centre_is_the_log_centre_of_the_lambda_range_in_every_transform():
  conditioning = contract.LossConditioning(
    compression.LOSS_NAMES,
    "log",
    {"distortion": tiny_codecs.LAMBDA_RANGE, "rate": (1.0, 1.0)},
  )
  problem = compression.HyperpriorCompressionProblem(
    num_filters=tiny_codecs.FILTERS,
    conditioning_layer_sizes=[8],
    conditioning_input_offset="centre",
  )
  problem.initialize_model(
    {"image": tf.TensorSpec([None, 32, 32, 3])}, 2, conditioning
  )
  np.testing.assert_allclose(
    problem.conditioning_input_offset, tiny_codecs.OFFSET, atol=1e-6
  )
  for transform in (
    problem.analysis_transform,
    problem.synthesis_transform,
    problem.hyper_analysis_transform,
    problem.hyper_synthesis_transform,
  ):
    np.testing.assert_allclose(
      transform.conditioning_input_offset, tiny_codecs.OFFSET, atol=1e-6
    )
  # What an exported module records: numbers, as a typed-in offset gives.
  recorded = compression_export._metadata(problem, conditioning, "")
  assert recorded["conditioning_input_offset"] == list(
    problem.conditioning_input_offset
  )


@pytest.mark.parametrize("value", [0, -3, 2.5, "128"])
def test_latent_channels_must_be_a_positive_int(value):
  with pytest.raises(ValueError, match="num_latent_filters must be a positive"):
    compression.HyperpriorCompressionProblem(num_latent_filters=value)


def test_an_unknown_unconditioned_transform_is_named_in_the_error():
  with pytest.raises(ValueError, match=r"\['synthesys'\]; the transforms are"):
    compression.HyperpriorCompressionProblem(
      unconditioned_transforms=["synthesys"]
    )


def test_unconditioned_transforms_have_no_film():
  problem = compression.HyperpriorCompressionProblem(
    num_filters=tiny_codecs.FILTERS,
    conditioning_layer_sizes=[8],
    unconditioned_transforms=["hyper_analysis", "hyper_synthesis"],
  )
  problem.initialize_model({"image": tf.TensorSpec([None, 32, 32, 3])}, 2)
  assert all(f is not None for f in problem.analysis_transform.films)
  assert all(f is None for f in problem.hyper_synthesis_transform.films)


def test_every_convolution_is_conditioned_and_variables_are_separable():
  problem = tiny_codecs.problem()
  transforms = [
    problem.analysis_transform,
    problem.synthesis_transform,
    problem.hyper_analysis_transform,
    problem.hyper_synthesis_transform,
  ]
  assert [len(t.films) for t in transforms] == [4, 4, 3, 3]
  assert all(film is not None for t in transforms for film in t.films)
  normal, conditioning = conditioning_layers.split_conditioning_variables(
    problem
  )
  film_variables = {
    v.ref() for t in transforms for f in t.films for v in f.trainable_variables
  }
  assert {v.ref() for v in conditioning} == film_variables
  assert any("DeepFactorized" in v.name for v in normal)
  fixed = tiny_codecs.problem(conditioned=False)
  assert all(f is None for f in fixed.analysis_transform.films)
  assert not conditioning_layers.split_conditioning_variables(fixed)[1]


@pytest.mark.parametrize("latent_gain", [False, True])
def test_variables_receive_gradients(latent_gain):
  problem = tiny_codecs.problem(latent_gain=latent_gain)
  images = tf.random.uniform([2, 32, 32, 3], seed=3)
  with tf.GradientTape() as tape:
    losses, _ = problem.losses_and_metrics(
      {"image": images},
      tiny_codecs.inputs_extra(0.01, 2),
      training=True,
      seed=tf.constant([3, 4], tf.int64),
    )
    loss = tf.reduce_sum(losses["rate"] + 0.01 * losses["distortion"])
  gradients = tape.gradient(loss, problem.trainable_variables)
  missing = [
    v.name
    for v, g in zip(problem.trainable_variables, gradients)
    if g is None or not np.any(g.numpy())
  ]
  assert not missing


def test_evaluation_reports_codec_metrics(problem):
  images = tiny_codecs.photo_crops(64, 2, name="chelsea", seed=2)
  losses, metrics = problem.losses_and_metrics(
    {"image": images}, tiny_codecs.inputs_extra(0.01, 2), training=False
  )
  assert set(metrics) >= {
    "psnr",
    "ms_ssim",
    "ms_ssim_db",
    "estimated_bpp",
    "actual_bpp",
  }
  np.testing.assert_allclose(metrics["estimated_bpp"], losses["rate"])
  latent, hyper_latent = problem.codec.compress(
    images, tiny_codecs.inputs_extra(0.01, 2), problem.codec.entropy_models()
  )
  num_bytes = tf.strings.length(latent) + tf.strings.length(hyper_latent)
  np.testing.assert_allclose(
    metrics["actual_bpp"], 8.0 * num_bytes.numpy() / 64**2, rtol=1e-6
  )


def test_embedded_config_trains_evaluates_and_exports(runs):
  """The embedded config (shrunk) writes codec metrics rows and a module."""
  rows = results.read_rows(runs.yoto_dir)
  assert {r["split"] for r in rows} == {"train_full", "test"}
  assert sorted({r["weights"]["distortion"] for r in rows}) == list(
    tiny_compression_runs.EVAL_LAMBDAS
  )
  for row in rows:
    values = row["values"]
    assert row["model"] == "yoto" and row["step"] == tiny_compression_runs.STEPS
    assert values["actual_bpp"] > 0 and values["estimated_bpp"] > 0
    assert {"psnr", "ms_ssim", "ms_ssim_db"} <= set(values)
    assert values["full_loss"] == pytest.approx(
      values["rate"] + row["weights"]["distortion"] * values["distortion"],
      rel=1e-4,
    )
  fixed_rows = results.read_rows(runs.fixed_dir)
  assert {r["model"] for r in fixed_rows} == {"fixed"}


def test_latent_gain_scales_the_latent_and_the_synthesis_input_only():
  problem = tiny_codecs.problem(latent_gain=True)
  analysis, synthesis = problem.analysis_transform, problem.synthesis_transform
  assert (analysis.gain_place, synthesis.gain_place) == ("output", "input")
  assert problem.hyper_analysis_transform.gain is None
  conditioning = {
    v.ref()
    for v in conditioning_layers.split_conditioning_variables(problem)[1]
  }
  assert {
    analysis.gain.slopes.ref(),
    synthesis.gain.slopes.ref(),
  } <= conditioning
  # At its start (slopes 0) y is the ungained one; a slope doubles y's first
  # channel at one unit of centred log λ, not the others.
  images = tf.random.uniform([1, 32, 32, 3], seed=5)
  # log [λ, 1] one unit above the centre of the range.
  inputs_extra = tf.constant([tiny_codecs.OFFSET]) + [[1.0, 0.0]]
  y, _ = problem.codec.analyze(images, inputs_extra)
  slopes = np.zeros(analysis.gain.slopes.shape, np.float32)
  slopes[0, 0] = np.log(2.0)
  analysis.gain.slopes.assign(slopes)
  gained, _ = problem.codec.analyze(images, inputs_extra)
  np.testing.assert_allclose(gained[..., 0], 2 * y[..., 0], rtol=1e-5)
  np.testing.assert_allclose(gained[..., 1:], y[..., 1:], rtol=1e-6)
  # A fixed-λ codec has no gain whatever the flag says.
  fixed = tiny_codecs.problem(conditioned=False, latent_gain=True)
  assert fixed.analysis_transform.gain is None
