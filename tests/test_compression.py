"""Tests of the λ-conditioned hyperprior codec (yoto.problems.compression)."""

import json

import numpy as np
import pytest
import tensorflow as tf
import tiny_compression_runs

from yoto import results
from yoto.architectures import conditioning as conditioning_layers
from yoto.export import compression as compression_export
from yoto.problems import compression
from yoto.utils import photo_patches

FILTERS = 8
LAMBDA_RANGE = (0.0012, 0.26)
# log λ centred as in the configs.
OFFSET = [float(np.mean(np.log(LAMBDA_RANGE))), 0.0]


def _problem(conditioned=True, filters=FILTERS):
  problem = compression.HyperpriorCompressionProblem(
      num_filters=filters, conditioning_layer_sizes=[8],
      conditioning_input_offset=OFFSET)
  problem.initialize_model({"image": tf.TensorSpec([None, 32, 32, 3])},
                           2 if conditioned else None)
  return problem


def _inputs_extra(lmbda, batch):
  return tf.math.log(tf.constant([[lmbda, 1.0]] * batch, tf.float32))


def _photo_crops(size, count, name="astronaut", seed=0):
  """Natural-image crops [count, size, size, 3] in [0, 1]."""
  photo = photo_patches.load_photo(name)[..., :3]
  rng = np.random.default_rng(seed)
  crops = []
  for _ in range(count):
    y = rng.integers(0, photo.shape[0] - size)
    x = rng.integers(0, photo.shape[1] - size)
    crops.append(photo[y:y + size, x:x + size])
  return tf.constant(np.stack(crops), tf.float32) / 255.0


@pytest.fixture(scope="module")
def problem():
  """An untrained codec: its latents often overflow the coding tables, which
  exercises the range coder's escape path too."""
  tf.random.set_seed(0)
  return _problem()


@pytest.mark.parametrize("height,width", [(32, 32), (64, 64), (40, 72),
                                          (17, 100)])
def test_shapes_through_all_four_transforms(height, width):
  problem = _problem()
  images = tf.random.uniform([2, height, width, 3], seed=1)
  result = problem.quantized_pass(images, _inputs_extra(0.01, 2),
                                  problem.entropy_models())
  y_h, y_w = -(-height // 16), -(-width // 16)
  z_h, z_w = -(-height // 64), -(-width // 64)
  assert result.y.shape == [2, y_h, y_w, FILTERS]
  assert result.indexes.shape == [2, y_h, y_w, FILTERS]
  assert result.z.shape == [2, z_h, z_w, FILTERS]
  assert result.x_hat.shape == [2, height, width, 3]
  y_shape, z_shape = compression.latent_shapes(tf.constant([height, width]))
  assert list(y_shape.numpy()) == [y_h, y_w]
  assert list(z_shape.numpy()) == [z_h, z_w]
  losses, _ = problem.losses_and_metrics({"image": images},
                                         _inputs_extra(0.01, 2), training=True,
                                         seed=tf.constant([1, 2], tf.int64))
  assert losses["rate"].shape == [2] and losses["distortion"].shape == [2]


def test_film_changes_outputs():
  problem = _problem()
  images = tf.random.uniform([2, 32, 32, 3], seed=2)
  models = problem.entropy_models()
  low = problem.quantized_pass(images, _inputs_extra(0.0012, 2), models)
  high = problem.quantized_pass(images, _inputs_extra(0.26, 2), models)
  assert not np.allclose(low.y, high.y)
  assert not np.allclose(low.x_hat, high.x_hat)


def test_film_starts_near_identity():
  problem = _problem()
  for lmbda in LAMBDA_RANGE:
    film = problem.analysis_transform.films[0]
    # The transform centres log λ before its FiLM layers.
    scales, shifts = film.scales_and_shifts(_inputs_extra(lmbda, 1) - OFFSET)
    np.testing.assert_allclose(scales, 1.0, atol=0.15)
    np.testing.assert_allclose(shifts, 0.0, atol=0.15)


def test_offset_must_have_one_entry_per_loss():
  problem = compression.HyperpriorCompressionProblem(
      num_filters=FILTERS, conditioning_input_offset=[-4.0])
  with pytest.raises(ValueError, match="one per loss"):
    problem.initialize_model({"image": tf.TensorSpec([None, 32, 32, 3])}, 2)


@pytest.mark.parametrize("value", [0, -3, 2.5, "128"])
def test_latent_channels_must_be_a_positive_int(value):
  with pytest.raises(ValueError, match="num_latent_filters must be a positive"):
    compression.HyperpriorCompressionProblem(num_latent_filters=value)


def test_latent_channels_set_y_and_the_scale_indexes_not_z():
  problem = compression.HyperpriorCompressionProblem(
      num_filters=FILTERS, num_latent_filters=12, conditioning_layer_sizes=[8])
  problem.initialize_model({"image": tf.TensorSpec([None, 64, 64, 3])}, 2)
  y, z = problem.analyze(tf.zeros([1, 64, 64, 3]), _inputs_extra(0.01, 1))
  assert y.shape[-1] == 12 and z.shape[-1] == FILTERS
  assert problem.hyper_synthesis_transform.specs[-1].filters == 12


def test_an_unknown_unconditioned_transform_is_named_in_the_error():
  with pytest.raises(ValueError, match=r"\['synthesys'\]; the transforms are"):
    compression.HyperpriorCompressionProblem(
        unconditioned_transforms=["synthesys"])


def test_unconditioned_transforms_have_no_film():
  problem = compression.HyperpriorCompressionProblem(
      num_filters=FILTERS, conditioning_layer_sizes=[8],
      unconditioned_transforms=["hyper_analysis", "hyper_synthesis"])
  problem.initialize_model({"image": tf.TensorSpec([None, 32, 32, 3])}, 2)
  assert all(f is not None for f in problem.analysis_transform.films)
  assert all(f is None for f in problem.hyper_synthesis_transform.films)


def test_every_convolution_is_conditioned_and_variables_are_separable():
  problem = _problem()
  transforms = [problem.analysis_transform, problem.synthesis_transform,
                problem.hyper_analysis_transform,
                problem.hyper_synthesis_transform]
  assert [len(t.films) for t in transforms] == [4, 4, 3, 3]
  assert all(film is not None for t in transforms for film in t.films)
  normal, conditioning = conditioning_layers.split_conditioning_variables(problem)
  film_variables = {v.ref() for t in transforms for f in t.films
                    for v in f.trainable_variables}
  assert {v.ref() for v in conditioning} == film_variables
  assert any("DeepFactorized" in v.name for v in normal)
  fixed = _problem(conditioned=False)
  assert all(f is None for f in fixed.analysis_transform.films)
  assert not conditioning_layers.split_conditioning_variables(fixed)[1]


def test_variables_receive_gradients():
  problem = _problem()
  images = tf.random.uniform([2, 32, 32, 3], seed=3)
  with tf.GradientTape() as tape:
    losses, _ = problem.losses_and_metrics(
        {"image": images}, _inputs_extra(0.01, 2), training=True,
        seed=tf.constant([3, 4], tf.int64))
    loss = tf.reduce_sum(losses["rate"] + 0.01 * losses["distortion"])
  gradients = tape.gradient(loss, problem.trainable_variables)
  missing = [v.name for v, g in zip(problem.trainable_variables, gradients)
             if g is None or not np.any(g.numpy())]
  assert not missing


def test_training_noise_follows_the_seed():
  problem = _problem()
  features = {"image": tf.random.uniform([2, 32, 32, 3], seed=4)}
  run = lambda seed: problem.losses_and_metrics(
      features, _inputs_extra(0.01, 2), training=True,
      seed=tf.constant(seed, tf.int64))[0]["rate"].numpy()
  np.testing.assert_array_equal(run([1, 2]), run([1, 2]))
  assert not np.array_equal(run([1, 2]), run([1, 3]))


@pytest.mark.parametrize("lmbda", [0.0012, 0.26])
def test_bitstream_round_trip_is_bit_exact(problem, lmbda):
  images = _photo_crops(48, 3, name="chelsea")[:, :40, :]  # 40 x 48.
  inputs_extra = _inputs_extra(lmbda, 3)
  models = problem.entropy_models()
  latent, hyper_latent = problem.compress(images, inputs_extra, models)
  decoded = problem.decompress(latent, hyper_latent, tf.constant([40, 48]),
                               inputs_extra, models)
  expected = problem.quantized_pass(images, inputs_extra, models).x_hat
  np.testing.assert_array_equal(decoded.numpy(), expected.numpy())


def test_range_coded_length_matches_the_estimate_for_well_fitted_latents(
    problem):
  """The rate estimate and the range coder use the same scale table.

  Latents drawn from the model's own prior p(y | indexes) are what a trained
  model produces; for them the estimate (Shannon information of the
  quantized latents) must match the coded length to within a few percent,
  plus a few bytes of coder overhead per string.
  """
  models = problem.entropy_models()
  shape = [4, 16, 16, FILTERS]
  indexes = tf.cast(tf.random.stateless_uniform(shape, [1, 2], 5, 50,
                                                tf.int32), tf.float32)
  prior = problem.latent_prior(indexes)
  y = tf.round(prior.sample(seed=(3, 4)))
  estimated = compression.bits_of(prior.log_prob(y)).numpy()
  strings = models.latent.compress(y, indexes)
  actual = 8.0 * tf.strings.length(strings).numpy()
  np.testing.assert_allclose(actual, estimated, rtol=0.02, atol=8 * 4)
  np.testing.assert_array_equal(models.latent.decompress(strings, indexes), y)


def test_evaluation_reports_codec_metrics(problem):
  images = _photo_crops(64, 2, name="chelsea", seed=2)
  losses, metrics = problem.losses_and_metrics(
      {"image": images}, _inputs_extra(0.01, 2), training=False)
  assert set(metrics) >= {"psnr", "ms_ssim", "ms_ssim_db", "estimated_bpp",
                          "actual_bpp"}
  np.testing.assert_allclose(metrics["estimated_bpp"], losses["rate"])
  models = problem.entropy_models()
  latent, hyper_latent = problem.compress(images, _inputs_extra(0.01, 2),
                                          models)
  num_bytes = tf.strings.length(latent) + tf.strings.length(hyper_latent)
  np.testing.assert_allclose(metrics["actual_bpp"],
                             8.0 * num_bytes.numpy() / 64**2, rtol=1e-6)


def test_fingerprint_identifies_the_weights(problem):
  fingerprint = compression_export.weights_fingerprint(problem.variables)
  assert fingerprint == compression_export.weights_fingerprint(problem.variables)
  tf.random.set_seed(1)
  other = _problem()
  assert compression_export.weights_fingerprint(other.variables) != fingerprint


@pytest.fixture(name="runs", scope="module")
def runs_fixture(tmp_path_factory):
  return tiny_compression_runs.get(tmp_path_factory)


def test_embedded_config_trains_evaluates_and_exports(runs):
  """The embedded config (shrunk) writes codec metrics rows and a module."""
  rows = results.read_rows(runs.yoto_dir)
  assert {r["split"] for r in rows} == {"train_full", "test"}
  assert sorted({r["weights"]["distortion"] for r in rows}) == list(
      tiny_compression_runs.EVAL_LAMBDAS)
  for row in rows:
    values = row["values"]
    assert row["model"] == "yoto" and row["step"] == tiny_compression_runs.STEPS
    assert values["actual_bpp"] > 0 and values["estimated_bpp"] > 0
    assert {"psnr", "ms_ssim", "ms_ssim_db"} <= set(values)
    assert values["full_loss"] == pytest.approx(
        values["rate"] + row["weights"]["distortion"] * values["distortion"],
        rel=1e-4)
  fixed_rows = results.read_rows(runs.fixed_dir)
  assert {r["model"] for r in fixed_rows} == {"fixed"}


def test_exported_module_round_trips_and_checks_lambda(runs):
  module = tf.saved_model.load(runs.yoto_module)
  metadata = json.loads(module.metadata()["metadata"].numpy())
  assert metadata["lmbda_range"] == list(LAMBDA_RANGE)
  assert metadata["loss_names"] == ["distortion", "rate"]
  assert len(metadata["fingerprint"]) == 64
  images = _photo_crops(48, 2, name="chelsea", seed=3)[:, :, :35]
  lmbda = tf.constant([0.002, 0.2])  # One λ per example.
  coded = module.compress(image=images, lmbda=lmbda)
  decoded = module.decompress(
      latent_strings=coded["latent_strings"],
      hyper_latent_strings=coded["hyper_latent_strings"],
      image_shape=coded["image_shape"], lmbda=lmbda)["image"]
  reconstruction = module.reconstruct(image=images, lmbda=lmbda)
  np.testing.assert_array_equal(decoded.numpy(),
                                reconstruction["reconstruction"].numpy())
  assert decoded.shape == [2, 48, 35, 3]
  assert reconstruction["estimated_bpp"].shape == [2]
  with pytest.raises(tf.errors.InvalidArgumentError, match="training range"):
    module.compress(image=images, lmbda=tf.constant(1.0))
  with pytest.raises(tf.errors.InvalidArgumentError, match="positive"):
    module.reconstruct(image=images, lmbda=tf.constant(-0.01))


def test_fixed_lambda_module_records_its_lambda(runs):
  module = tf.saved_model.load(runs.fixed_module)
  metadata = json.loads(module.metadata()["metadata"].numpy())
  assert metadata["lmbda"] == tiny_compression_runs.FIXED_LAMBDA
  assert "lmbda_range" not in metadata
  images = _photo_crops(32, 1, name="chelsea", seed=4)
  coded = module.compress(image=images, lmbda=tf.constant(0.01))
  assert coded["latent_strings"].shape == [1]
