"""The (β-)variational auto-encoder with loss-weight conditioning.

Losses, per example (Kingma & Welling 2014; Higgins et al. 2017):
  reconstruction_loss = -log p(x | z),  z ~ q(z | x)   (one sample, summed over
                                                        pixels and channels)
  kl_loss             = KL(q(z | x) || N(0, I))       (summed over latents)
so that β-VAE training minimises `reconstruction_loss + β · kl_loss`.

q(z | x) is a diagonal Gaussian: the encoder emits 2·L numbers per example,
the means and pre-softplus standard deviations (std = softplus(.) + epsilon).
p(x | z) is either a diagonal Gaussian (the decoder emits 2·C channels: means
and pre-softplus stds) or a Bernoulli (C channels of logits, for images in
[0, 1] such as Shapes3D).

Under a mixed-precision policy (`experiment.mixed_precision_policy`) the
networks compute in 16 bits and their outputs are cast to float32 here, so
the KL, the likelihood and the losses are computed in float32.

Deviation from the original export: `reconstructions`/`samples` are always in
image space (Gaussian means, or Bernoulli probabilities rather than logits),
and `*_log_sigmas` are true log standard deviations; the raw decoder outputs
are available as `*_logits` / extras.
"""

from typing import Callable, Mapping, Optional, Tuple, Union

import tensorflow as tf
import tensorflow_probability as tfp

from yoto.export import vae as vae_export
from yoto.problems import base
from yoto.weights import contract

tfd = tfp.distributions

OUTPUT_DISTRIBUTIONS = ("gaussian", "bernoulli")
NetworkFactory = Union[Callable[[], tf.keras.Model], tf.keras.Model]


def _make_network(factory: NetworkFactory, name: str) -> tf.keras.Model:
  network = factory if isinstance(factory, tf.keras.Model) else factory()
  if not isinstance(network, tf.keras.Model):
    raise ValueError(
      f"ConditionalVaeProblem.{name} must build a Keras model "
      f"(e.g. @{name}/ConditionalConvnet), got {network!r}."
    )
  return network


class ConditionalVaeProblem(base.Problem):
  """A VAE whose encoder and decoder can be conditioned on `inputs_extra`."""

  supports_mixed_precision = True  # KL and likelihood in float32.
  # Figure 3 of the paper: inputs, reconstructions and samples across β.
  after_run_plot = "grid"

  def __init__(
    self,
    encoder: NetworkFactory,
    decoder: NetworkFactory,
    latent_dimensions: int,
    features_key: str = "image",
    output_distribution: str = "gaussian",
    epsilon: float = 1e-6,
    conditioning_input_offset: contract.InputOffset = None,
    conditioning_input_scale: float = 1.0,
    name: Optional[str] = None,
  ):
    """Creates the problem; networks are built in `initialize_model`.

    Args:
      encoder: a Keras model or a zero-argument factory of one. It maps
        images [B, H, W, C] (and inputs_extra) to [..., 2 * latent_dimensions].
      decoder: likewise, mapping latents [B, latent_dimensions] to
        [B, H, W, 2C] (gaussian) or [B, H, W, C] (bernoulli).
      latent_dimensions: L, the size of z.
      features_key: which feature holds the images.
      output_distribution: 'gaussian' or 'bernoulli'.
      epsilon: added to every softplus standard deviation.
      conditioning_input_offset: a constant [2] (kl_loss, reconstruction_loss)
        subtracted from `inputs_extra` before the networks see it, or
        'centre' for the log of each training range's geometric centre
        (resolved in `initialize_model`, see
        `contract.resolve_input_offset`); the conditioning contract
        (inputs_extra = log of the raw weights) is unchanged.
      conditioning_input_scale: multiplies the centred inputs (see
        `conditioning.check_input_scale`).
      name: tf.Module name.
    """
    super().__init__(name=name)
    if output_distribution not in OUTPUT_DISTRIBUTIONS:
      raise ValueError(
        f"ConditionalVaeProblem.output_distribution must be one of "
        f"{OUTPUT_DISTRIBUTIONS}, got {output_distribution!r}."
      )
    if not isinstance(latent_dimensions, int) or latent_dimensions <= 0:
      raise ValueError(
        "ConditionalVaeProblem.latent_dimensions must be a "
        f"positive int, got {latent_dimensions!r}."
      )
    self._encoder_factory = encoder
    self._decoder_factory = decoder
    self.latent_dimensions = latent_dimensions
    self.features_key = features_key
    self.output_distribution = output_distribution
    self.epsilon = epsilon
    # Numbers, 'centre' or None; `initialize_model` resolves 'centre'.
    self._configured_input_offset = contract.check_input_offset(
      conditioning_input_offset,
      len(self.losses_keys),
      "ConditionalVaeProblem",
      self.losses_keys,
    )
    self.conditioning_input_offset = self._configured_input_offset
    self.conditioning_input_scale = contract.check_input_scale(
      conditioning_input_scale, "ConditionalVaeProblem"
    )
    self.encoder = None
    self.decoder = None
    self.image_shape = None
    self.num_conditioning_inputs = None

  @property
  def losses_keys(self) -> Tuple[str, ...]:
    return ("kl_loss", "reconstruction_loss")

  def initialize_model(
    self, element_spec, num_conditioning_inputs, conditioning=None
  ):
    if self.features_key not in element_spec:
      raise ValueError(
        f"ConditionalVaeProblem.features_key={self.features_key!r} is not a "
        f"feature of the dataset; it has {sorted(element_spec)}."
      )
    self.image_shape = tuple(element_spec[self.features_key].shape[1:])
    if len(self.image_shape) != 3 or None in self.image_shape:
      raise ValueError(
        f"The VAE needs images of a fixed [H, W, C] shape, got "
        f"{self.image_shape}; crop or resize them in `preprocess`."
      )
    self.num_conditioning_inputs = num_conditioning_inputs
    self.conditioning_input_offset = contract.resolve_input_offset(
      self._configured_input_offset,
      num_conditioning_inputs,
      conditioning,
      "ConditionalVaeProblem",
      self.losses_keys,
    )
    self.encoder = _make_network(self._encoder_factory, "encoder")
    self.decoder = _make_network(self._decoder_factory, "decoder")
    self._check_shapes()

  def _dummy_inputs_extra(self, batch):
    if self.num_conditioning_inputs is None:
      return None
    return tf.zeros([batch, self.num_conditioning_inputs])

  def _check_shapes(self):
    """Runs one forward pass: builds variables and checks output shapes."""
    images = tf.zeros((2,) + self.image_shape)
    code, _ = self.encoder(images, self._dummy_inputs_extra(2))
    if code.shape[-1] != 2 * self.latent_dimensions:
      raise ValueError(
        f"The encoder emits {code.shape[-1]} numbers per position but "
        f"latent_dimensions={self.latent_dimensions} needs "
        f"{2 * self.latent_dimensions} (means and stds); set the last of "
        "encoder/ConditionalConvnet.fc_layer_sizes to twice the latent size."
      )
    outputs, _ = self.decoder(
      code[..., : self.latent_dimensions], self._dummy_inputs_extra(2)
    )
    channels = self.image_shape[-1]
    expected = self.image_shape[:-1] + (
      2 * channels if self.output_distribution == "gaussian" else channels,
    )
    if tuple(outputs.shape[1:]) != expected:
      raise ValueError(
        f"The decoder emits {tuple(outputs.shape[1:])} per example but a "
        f"{self.output_distribution} likelihood of {self.image_shape} images "
        f"needs {expected}; check decoder/ConditionalConvnet.channels_out, "
        "num_blocks and upconv_reshape_size."
      )

  def _network_inputs(self, inputs_extra):
    """`inputs_extra` [B, 2] centred and scaled as configured (or None)."""
    if inputs_extra is None:
      return None
    return contract.offset_and_scale(
      inputs_extra,
      self.conditioning_input_offset,
      self.conditioning_input_scale,
    )

  def posterior(self, images, inputs_extra=None, training=False):
    """q(z | x): a diagonal Gaussian with batch shape [B] and event [L]."""
    code, endpoints = self.encoder(
      images, self._network_inputs(inputs_extra), training=training
    )
    # Mixed precision: the distribution (KL, samples) is float32.
    code = tf.reshape(
      tf.cast(code, tf.float32), [-1, 2 * self.latent_dimensions]
    )
    mean, raw_std = tf.split(code, 2, axis=-1)
    std = tf.nn.softplus(raw_std) + self.epsilon
    return tfd.MultivariateNormalDiag(loc=mean, scale_diag=std), endpoints

  def likelihood(self, latents, inputs_extra=None, training=False):
    """p(x | z): independent over pixels, batch shape [B], event [H, W, C]."""
    outputs, endpoints = self.decoder(
      latents, self._network_inputs(inputs_extra), training=training
    )
    outputs = tf.cast(outputs, tf.float32)  # Mixed precision: float32 log p.
    if self.output_distribution == "gaussian":
      mean, raw_std = tf.split(outputs, 2, axis=-1)
      pixels = tfd.Normal(
        loc=mean, scale=tf.nn.softplus(raw_std) + self.epsilon
      )
    else:
      pixels = tfd.Bernoulli(logits=outputs, dtype=tf.float32)
    return tfd.Independent(pixels, reinterpreted_batch_ndims=3), endpoints

  def prior(self):
    return tfd.MultivariateNormalDiag(
      loc=tf.zeros([self.latent_dimensions]),
      scale_diag=tf.ones([self.latent_dimensions]),
    )

  def losses_and_metrics(
    self, features, inputs_extra=None, training=False, seed=None
  ):
    images = features[self.features_key]
    posterior, _ = self.posterior(images, inputs_extra, training)
    if seed is None:
      latents = posterior.sample()
    else:
      latents = posterior.sample(seed=tf.cast(seed, tf.int32))  # TFP's dtype.
    likelihood, _ = self.likelihood(latents, inputs_extra, training)
    losses = {
      "reconstruction_loss": -likelihood.log_prob(images),
      "kl_loss": tfd.kl_divergence(posterior, self.prior()),
    }
    return losses, {}

  def reconstruct(self, images, inputs_extra=None):
    """Decodes the posterior mean: the deterministic reconstruction.

    Returns:
      (reconstructions [B, H, W, C] in image space, extras dict).
    """
    posterior, enc_endpoints = self.posterior(images, inputs_extra)
    mean = posterior.mean()
    likelihood, dec_endpoints = self.likelihood(mean, inputs_extra)
    extras = {
      "latent_means": mean,
      "latent_log_sigmas": tf.math.log(posterior.stddev()),
    }
    extras.update(self._decoded_extras(likelihood, "reconstruction"))
    extras.update(_prefixed(enc_endpoints, "encoder_"))
    extras.update(_prefixed(dec_endpoints, "decoder_"))
    return likelihood.mean(), extras

  def sample(self, noise, inputs_extra=None):
    """Decodes given latents (e.g. N(0, I) noise) into image-space samples."""
    likelihood, endpoints = self.likelihood(noise, inputs_extra)
    extras = self._decoded_extras(likelihood, "image_samples")
    extras.update(_prefixed(endpoints, "decoder_"))
    return likelihood.mean(), extras

  def _decoded_extras(self, likelihood, prefix):
    pixels = likelihood.distribution
    if self.output_distribution == "gaussian":
      return {f"{prefix}_log_sigmas": tf.math.log(pixels.stddev())}
    return {f"{prefix}_logits": pixels.logits}

  def image_summaries(self, features, inputs_extra):
    images = features[self.features_key]
    reconstructions, _ = self.reconstruct(images, inputs_extra)
    noise = tf.random.stateless_normal(
      [tf.shape(images)[0], self.latent_dimensions], seed=[0, 0]
    )
    samples, _ = self.sample(noise, inputs_extra)
    return {
      "inputs": images,
      "reconstructions": reconstructions,
      "samples": samples,
    }

  def export_module(self, conditioning):
    return vae_export.VaeExportModule(self, conditioning)


def _prefixed(endpoints: Mapping[str, tf.Tensor], prefix: str):
  return {prefix + k: v for k, v in endpoints.items()}
