"""The hyperprior codec's passes: shapes, FiLM, noise, range coding."""

import numpy as np
import pytest
import tensorflow as tf
import tiny_codecs

from yoto.architectures import hyperprior
from yoto.architectures import hyperprior_codec
from yoto.problems import compression

FILTERS = tiny_codecs.FILTERS
inputs_extra = tiny_codecs.inputs_extra


@pytest.fixture(name="codec", scope="module")
def codec_fixture():
  """An untrained codec: its latents often overflow the coding tables, which
  exercises the range coder's escape path too."""
  tf.random.set_seed(0)
  return tiny_codecs.problem().codec


@pytest.mark.parametrize(
  "height,width", [(32, 32), (64, 64), (40, 72), (17, 100)]
)
def test_shapes_through_all_four_transforms(codec, height, width):
  images = tf.random.uniform([2, height, width, 3], seed=1)
  result = codec.quantized_pass(
    images, inputs_extra(0.01, 2), codec.entropy_models()
  )
  y_h, y_w = -(-height // 16), -(-width // 16)
  z_h, z_w = -(-height // 64), -(-width // 64)
  assert result.y.shape == [2, y_h, y_w, FILTERS]
  assert result.indexes.shape == [2, y_h, y_w, FILTERS]
  assert result.z.shape == [2, z_h, z_w, FILTERS]
  assert result.x_hat.shape == [2, height, width, 3]
  assert result.bits.shape == [2] and result.side_bits.shape == [2]
  y_shape, z_shape = hyperprior.latent_shapes(tf.constant([height, width]))
  assert list(y_shape.numpy()) == [y_h, y_w]
  assert list(z_shape.numpy()) == [z_h, z_w]
  x_tilde, bits, side_bits = codec.noisy_pass(
    images, inputs_extra(0.01, 2), tf.constant([1, 2], tf.int64)
  )
  assert x_tilde.shape == [2, height, width, 3]
  assert bits.shape == [2] and side_bits.shape == [2]


def test_film_changes_outputs(codec):
  images = tf.random.uniform([2, 32, 32, 3], seed=2)
  models = codec.entropy_models()
  low = codec.quantized_pass(images, inputs_extra(0.0012, 2), models)
  high = codec.quantized_pass(images, inputs_extra(0.26, 2), models)
  assert not np.allclose(low.y, high.y)
  assert not np.allclose(low.x_hat, high.x_hat)


def test_a_conditioned_codec_needs_inputs_extra_and_a_fixed_one_ignores_it(
  codec,
):
  images = tf.random.uniform([1, 32, 32, 3], seed=3)
  with pytest.raises(ValueError, match="needs inputs_extra"):
    codec.analyze(images, None)
  fixed = tiny_codecs.problem(conditioned=False).codec
  y, _ = fixed.analyze(images, None)
  np.testing.assert_array_equal(
    y.numpy(), fixed.analyze(images, inputs_extra(0.01, 1))[0].numpy()
  )


def test_latent_channels_set_y_and_the_scale_indexes_not_z():
  problem = compression.HyperpriorCompressionProblem(
    num_filters=FILTERS, num_latent_filters=12, conditioning_layer_sizes=[8]
  )
  problem.initialize_model({"image": tf.TensorSpec([None, 64, 64, 3])}, 2)
  y, z = problem.codec.analyze(tf.zeros([1, 64, 64, 3]), inputs_extra(0.01, 1))
  assert y.shape[-1] == 12 and z.shape[-1] == FILTERS
  assert problem.hyper_synthesis_transform.specs[-1].filters == 12


def test_training_noise_follows_the_seed(codec):
  images = tf.random.uniform([2, 32, 32, 3], seed=4)
  run = lambda seed: codec.noisy_pass(
    images, inputs_extra(0.01, 2), tf.constant(seed, tf.int64)
  )[1].numpy()
  np.testing.assert_array_equal(run([1, 2]), run([1, 2]))
  assert not np.array_equal(run([1, 2]), run([1, 3]))


@pytest.mark.parametrize("lmbda", [0.0012, 0.26])
def test_bitstream_round_trip_is_bit_exact(codec, lmbda):
  images = tiny_codecs.photo_crops(48, 3, name="chelsea")[:, :40, :]  # 40x48.
  extra = inputs_extra(lmbda, 3)
  models = codec.entropy_models()
  latent, hyper_latent = codec.compress(images, extra, models)
  decoded = codec.decompress(
    latent, hyper_latent, tf.constant([40, 48]), extra, models
  )
  expected = codec.quantized_pass(images, extra, models).x_hat
  np.testing.assert_array_equal(decoded.numpy(), expected.numpy())


def test_range_coded_length_matches_the_estimate_for_well_fitted_latents(codec):
  """The rate estimate and the range coder use the same scale table.

  Latents drawn from the model's own prior p(y | indexes) are what a trained
  model produces; for them the estimate (Shannon information of the
  quantized latents) must match the coded length to within a few percent,
  plus a few bytes of coder overhead per string.
  """
  models = codec.entropy_models()
  shape = [4, 16, 16, FILTERS]
  indexes = tf.cast(
    tf.random.stateless_uniform(shape, [1, 2], 5, 50, tf.int32), tf.float32
  )
  prior = codec.scale_table.latent_prior(indexes)
  y = tf.round(prior.sample(seed=(3, 4)))
  estimated = hyperprior_codec.bits_of(prior.log_prob(y)).numpy()
  strings = models.latent.compress(y, indexes)
  actual = 8.0 * tf.strings.length(strings).numpy()
  np.testing.assert_allclose(actual, estimated, rtol=0.02, atol=8 * 4)
  np.testing.assert_array_equal(models.latent.decompress(strings, indexes), y)


def test_the_scale_table_is_log_spaced_and_bounds_its_indexes():
  table = hyperprior_codec.ScaleTable(
    num_scales=5, scale_min=0.1, scale_max=1000.0
  )
  np.testing.assert_allclose(
    table.scale_fn(tf.range(5)).numpy(),
    [0.1, 1.0, 10.0, 100.0, 1000.0],
    rtol=1e-5,
  )
  prior = table.latent_prior(tf.constant([-3.0, 2.0, 9.0]))
  np.testing.assert_allclose(
    prior.base.scale.numpy(), [0.1, 10.0, 1000.0], rtol=1e-5
  )


def test_bits_of_sums_minus_log2_over_each_example():
  log_probs = tf.math.log(tf.fill([2, 3, 4, 5], 0.5))
  np.testing.assert_allclose(
    hyperprior_codec.bits_of(log_probs).numpy(), [60.0, 60.0], rtol=1e-6
  )
