"""Tests of yoto.problems.vae: losses, likelihoods, shapes and learning."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from yoto.architectures import convnet
from yoto.problems import vae
from yoto.weights import contract

tfd = tfp.distributions
LATENT = 4


def _problem(
  output_distribution="gaussian",
  conditioned=True,
  latent=LATENT,
  conditioning=None,
  **kwargs,
):
  channels = 6 if output_distribution == "gaussian" else 3
  encoder = lambda: convnet.ConditionalConvnet(
    num_blocks=2,
    layers_per_block=1,
    base_num_channels=4,
    fc_layer_sizes=[16, 2 * latent],
    conditioning_layer_sizes=[8],
    name="encoder",
  )
  decoder = lambda: convnet.ConditionalConvnet(
    num_blocks=2,
    layers_per_block=1,
    base_num_channels=4,
    upconv=True,
    fc_layer_sizes=[16, 2 * 2 * 8],
    upconv_reshape_size=[2, 2, 8],
    channels_out=channels,
    conditioning_layer_sizes=[8],
    name="decoder",
  )
  problem = vae.ConditionalVaeProblem(
    encoder, decoder, latent, output_distribution=output_distribution, **kwargs
  )
  spec = {"image": tf.TensorSpec([None, 8, 8, 3], tf.float32)}
  problem.initialize_model(spec, 2 if conditioned else None, conditioning)
  return problem


def _images(batch=5, seed=0, low=-1.0):
  rng = np.random.default_rng(seed)
  return tf.constant(rng.uniform(low, 1.0, (batch, 8, 8, 3)), tf.float32)


def _extra(batch=5, beta=1.0):
  return tf.math.log(tf.constant([[beta, 1.0]] * batch))


@pytest.mark.parametrize("output", ["gaussian", "bernoulli"])
def test_losses_are_per_example(output):
  problem = _problem(output)
  images = _images(low=-1.0 if output == "gaussian" else 0.0)
  losses, metrics = problem.losses_and_metrics({"image": images}, _extra())
  assert set(losses) == set(problem.losses_keys)
  assert losses["kl_loss"].shape == [5]
  assert losses["reconstruction_loss"].shape == [5]
  assert np.all(losses["kl_loss"].numpy() >= 0)
  assert isinstance(metrics, dict)


def test_kl_matches_closed_form():
  problem = _problem()
  mean = np.array([[0.5, -1.0, 0.0, 2.0]], np.float32)
  std = np.array([[0.5, 2.0, 1.0, 0.1]], np.float32)
  posterior = tfd.MultivariateNormalDiag(mean, std)
  kl = tfd.kl_divergence(posterior, problem.prior()).numpy()
  # KL(N(m, s^2) || N(0, 1)) = sum(0.5 * (s^2 + m^2 - 1) - log s).
  expected = np.sum(0.5 * (std**2 + mean**2 - 1) - np.log(std), axis=-1)
  np.testing.assert_allclose(kl, expected, rtol=1e-5, atol=1e-6)


def _fixed_code_problem(output, code, outputs):
  """A problem whose encoder/decoder return given tensors."""

  class Constant(tf.keras.Model):
    def __init__(self, value):
      super().__init__()
      self.value = tf.constant(value, tf.float32)

    def call(self, inputs, inputs_extra=None, training=None):
      del inputs_extra, training
      batch = tf.shape(inputs)[0]
      return tf.broadcast_to(
        self.value, tf.concat([[batch], tf.shape(self.value)[1:]], 0)
      ), {}

  problem = vae.ConditionalVaeProblem(
    Constant(code),
    Constant(outputs),
    code.shape[-1] // 2,
    output_distribution=output,
    epsilon=1e-6,
  )
  problem.initialize_model({"image": tf.TensorSpec([None, 2, 2, 1])}, None)
  return problem


def test_posterior_uses_softplus_std_plus_epsilon():
  code = np.array([[0.3, -0.2, 1.5, -3.0]], np.float32)
  outputs = np.zeros([1, 2, 2, 2], np.float32)
  problem = _fixed_code_problem("gaussian", code, outputs)
  posterior, _ = problem.posterior(tf.zeros([1, 2, 2, 1]))
  np.testing.assert_allclose(posterior.mean(), [[0.3, -0.2]], atol=1e-7)
  softplus = np.log1p(np.exp([1.5, -3.0])) + 1e-6
  np.testing.assert_allclose(posterior.stddev(), [softplus], rtol=1e-6)


def test_gaussian_likelihood_matches_hand_computed_log_density():
  means = np.array([0.1, -0.4, 0.8, 0.0], np.float32).reshape(1, 2, 2, 1)
  raw_std = np.array([0.0, 1.0, -1.0, 2.0], np.float32).reshape(1, 2, 2, 1)
  outputs = np.concatenate([means, raw_std], axis=-1)
  code = np.zeros([1, 2], np.float32)
  problem = _fixed_code_problem("gaussian", code, outputs)
  x = np.array([0.0, 0.5, 1.0, -0.3], np.float32).reshape(1, 2, 2, 1)
  likelihood, _ = problem.likelihood(tf.zeros([1, 1]))
  std = np.log1p(np.exp(raw_std)) + 1e-6
  expected = np.sum(
    -0.5 * ((x - means) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)
  )
  np.testing.assert_allclose(likelihood.log_prob(x), [expected], rtol=1e-5)


def test_bernoulli_likelihood_matches_hand_computed_cross_entropy():
  logits = np.array([0.0, 2.0, -1.0, 0.5], np.float32).reshape(1, 2, 2, 1)
  problem = _fixed_code_problem(
    "bernoulli", np.zeros([1, 2], np.float32), logits
  )
  x = np.array([0.0, 1.0, 0.25, 1.0], np.float32).reshape(1, 2, 2, 1)
  likelihood, _ = problem.likelihood(tf.zeros([1, 1]))
  p = 1 / (1 + np.exp(-logits))
  expected = np.sum(x * np.log(p) + (1 - x) * np.log(1 - p))
  np.testing.assert_allclose(likelihood.log_prob(x), [expected], rtol=1e-5)


def test_sampling_is_reproducible_with_a_seed():
  problem = _problem()
  features = {"image": _images()}
  seed = tf.constant([3, 4], tf.int64)
  a, _ = problem.losses_and_metrics(features, _extra(), seed=seed)
  b, _ = problem.losses_and_metrics(features, _extra(), seed=seed)
  np.testing.assert_array_equal(
    a["reconstruction_loss"], b["reconstruction_loss"]
  )


def test_a_few_training_steps_on_a_fixed_batch_lower_the_loss():
  tf.keras.utils.set_random_seed(0)
  problem = _problem()
  # Flat-coloured images: learnable, unlike pixel noise.
  colours = np.random.default_rng(0).uniform(-1, 1, (16, 1, 1, 3))
  features = {
    "image": tf.constant(np.broadcast_to(colours, (16, 8, 8, 3)), tf.float32)
  }
  extra = _extra(16, beta=1.0)
  optimizer = tf.keras.optimizers.Adam(3e-3)

  def loss():
    losses, _ = problem.losses_and_metrics(
      features, extra, training=True, seed=tf.constant([0, 0], tf.int64)
    )
    return tf.reduce_mean(losses["reconstruction_loss"] + losses["kl_loss"])

  first = float(loss())
  for _ in range(80):
    optimizer.minimize(loss, problem.trainable_variables)
  assert float(loss()) < 0.97 * first


def test_reconstruct_and_sample_shapes_and_ranges():
  problem = _problem("bernoulli")
  images = _images(low=0.0)
  reconstructions, extras = problem.reconstruct(images, _extra())
  assert reconstructions.shape == images.shape
  assert np.all((reconstructions.numpy() >= 0) & (reconstructions <= 1))
  assert extras["latent_means"].shape == [5, LATENT]
  assert "reconstruction_logits" in extras
  samples, extras = problem.sample(tf.zeros([5, LATENT]), _extra())
  assert samples.shape == images.shape
  assert "image_samples_logits" in extras


def test_conditioning_changes_the_reconstruction():
  problem = _problem()
  for layer in problem.decoder.submodules:
    if "conditioning" in layer.name and hasattr(layer, "kernel"):
      layer.kernel.assign(tf.random.normal(layer.kernel.shape))
  images = _images()
  low, _ = problem.reconstruct(images, _extra(beta=0.5))
  high, _ = problem.reconstruct(images, _extra(beta=512.0))
  assert not np.allclose(low.numpy(), high.numpy())


def test_unconditioned_problem_works_without_inputs_extra():
  problem = _problem(conditioned=False)
  losses, _ = problem.losses_and_metrics({"image": _images()}, None)
  assert losses["kl_loss"].shape == [5]
  assert not [
    v for v in problem.trainable_variables if "conditioning" in v.name
  ]


def test_networks_see_centred_and_scaled_inputs_extra():
  """With an offset and a scale the networks see (log w - offset) * scale:
  the same outputs as an unshifted problem given those inputs directly."""
  tf.keras.utils.set_random_seed(3)
  centred = _problem(
    conditioning_input_offset=[2.0, 0.5], conditioning_input_scale=0.25
  )
  tf.keras.utils.set_random_seed(3)
  plain = _problem()
  images = _images()
  extra = _extra(beta=8.0)
  want, _ = plain.reconstruct(images, (extra - [[2.0, 0.5]]) * 0.25)
  got, _ = centred.reconstruct(images, extra)
  unshifted, _ = plain.reconstruct(images, extra)
  np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-6)
  assert not np.allclose(got.numpy(), unshifted.numpy(), atol=1e-4)


def test_centre_offsets_by_the_training_ranges_log_centres():
  """'centre' is resolved from the optimizer's ranges when the model is
  built, and the networks then see exactly what the typed-in centre gives."""
  ranges = contract.LossConditioning(
    ("kl_loss", "reconstruction_loss"),
    "log",
    {"kl_loss": (0.5, 512.0), "reconstruction_loss": (1.0, 4.0)},
  )
  tf.keras.utils.set_random_seed(3)
  centred = _problem(conditioning_input_offset="centre", conditioning=ranges)
  tf.keras.utils.set_random_seed(3)
  typed = _problem(conditioning_input_offset=[np.log(16.0), np.log(2.0)])
  np.testing.assert_allclose(
    centred.conditioning_input_offset, [np.log(16.0), np.log(2.0)], atol=1e-6
  )
  images, extra = _images(), _extra(beta=8.0)
  got, _ = centred.reconstruct(images, extra)
  want, _ = typed.reconstruct(images, extra)
  np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-6)


def test_centre_needs_the_training_ranges_unless_unconditioned():
  unconditioned = _problem(
    conditioned=False, conditioning_input_offset="centre"
  )
  assert unconditioned.conditioning_input_offset is None
  with pytest.raises(ValueError, match="'centre' takes the centre"):
    _problem(conditioning_input_offset="centre")


@pytest.mark.parametrize(
  "kwargs, message",
  [
    (dict(output_distribution="poisson"), "output_distribution"),
    (dict(latent_dimensions=0), "latent_dimensions"),
    (dict(conditioning_input_offset=[1.0]), "conditioning_input_offset"),
    (dict(conditioning_input_offset="middle"), "write 'centre'"),
    (dict(conditioning_input_scale=0.0), "conditioning_input_scale"),
  ],
)
def test_bad_arguments_raise(kwargs, message):
  args = dict(encoder=None, decoder=None, latent_dimensions=3)
  args.update(kwargs)
  with pytest.raises(ValueError, match=message):
    vae.ConditionalVaeProblem(**args)


def test_mismatched_encoder_width_is_reported():
  with pytest.raises(ValueError, match="twice the latent size"):
    _problem(latent=LATENT).__class__  # Builds fine.
    problem = vae.ConditionalVaeProblem(
      lambda: convnet.ConditionalConvnet(
        num_blocks=1,
        layers_per_block=1,
        base_num_channels=2,
        fc_layer_sizes=[5],
      ),
      lambda: convnet.ConditionalConvnet(upconv=True),
      4,
    )
    problem.initialize_model({"image": tf.TensorSpec([None, 8, 8, 3])}, None)


def test_mismatched_decoder_output_is_reported():
  problem = vae.ConditionalVaeProblem(
    lambda: convnet.ConditionalConvnet(
      num_blocks=1, layers_per_block=1, base_num_channels=2, fc_layer_sizes=[8]
    ),
    lambda: convnet.ConditionalConvnet(
      num_blocks=1,
      layers_per_block=1,
      base_num_channels=2,
      upconv=True,
      fc_layer_sizes=[16],
      upconv_reshape_size=[2, 2, 4],
      channels_out=3,
    ),
    4,
  )
  with pytest.raises(ValueError, match="channels_out"):
    problem.initialize_model({"image": tf.TensorSpec([None, 8, 8, 3])}, None)


def test_missing_features_key_is_reported():
  problem = vae.ConditionalVaeProblem(None, None, 3, features_key="pixels")
  with pytest.raises(ValueError, match="'pixels'"):
    problem.initialize_model({"image": tf.TensorSpec([None, 8, 8, 3])}, None)
