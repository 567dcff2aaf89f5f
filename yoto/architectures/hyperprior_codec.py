"""The scale-hyperprior codec: entropy models and the passes through it.

The model of Ballé et al. (2018) as tensorflow-compression builds it
(`models/bmshj2018.py`): the transforms g_a, g_s, h_a, h_s
(`yoto.architectures.hyperprior`), a `tfc.NoisyDeepFactorized` prior for the
hyper-latent z and a zero-mean `tfc.NoisyNormal` for the latent y whose scale
comes from a log-spaced table (`ScaleTable`) indexed by h_s(z_hat).

`HyperpriorCodec` runs images through it:
- `noisy_pass` (training): latents plus uniform noise from a stateless seed,
  and their bits under the priors;
- `quantized_pass` (evaluation): rounded latents, their Shannon information
  (which the range coder approaches) and the decoded image;
- `compress` / `decompress`: range coding with entropy models built with
  `compression=True` (`entropy_models`), so strings decode to exactly
  `quantized_pass(...).x_hat`.
Every pass takes the conditioning input `inputs_extra` [B, n] (None for an
unconditioned codec). Images are float32 [B, H, W, 3] in [0, 1], any size
(see `yoto.architectures.hyperprior` for the spatial sizes).
"""

import dataclasses
import math
from typing import NamedTuple, Optional, Tuple

import tensorflow as tf
import tensorflow_compression as tfc

from yoto.architectures import hyperprior


class EntropyModels(NamedTuple):
  """The two range-coding entropy models (built with `compression=True`)."""

  latent: tfc.LocationScaleIndexedEntropyModel
  hyper_latent: tfc.ContinuousBatchedEntropyModel


class Transforms(NamedTuple):
  """g_a, g_s, h_a, h_s: `ConditionalTransform`s called as f(x, inputs_extra)."""

  analysis: tf.keras.layers.Layer
  synthesis: tf.keras.layers.Layer
  hyper_analysis: tf.keras.layers.Layer
  hyper_synthesis: tf.keras.layers.Layer


class QuantizedPass(NamedTuple):
  """Everything one deterministic (quantized) pass computes.

  Shapes for a [B, H, W, 3] batch, C filters, h = ceil(H/16), w = ceil(W/16):
  y, y_hat, indexes [B, h, w, C]; z, z_hat [B, ceil(h/4), ceil(w/4), C];
  x_hat [B, H, W, 3] (unclipped); bits, side_bits [B].
  """

  y: tf.Tensor
  z: tf.Tensor
  y_hat: tf.Tensor
  z_hat: tf.Tensor
  indexes: tf.Tensor
  x_hat: tf.Tensor
  bits: tf.Tensor
  side_bits: tf.Tensor


def bits_of(log_probs: tf.Tensor) -> tf.Tensor:
  """-Σ log2 p over the last three axes: [B, h, w, C] -> [B]."""
  return tf.reduce_sum(log_probs, axis=[1, 2, 3]) / -math.log(2.0)


@dataclasses.dataclass(frozen=True)
class ScaleTable:
  """The latent's scales: index i in [0, num_scales) -> a log-spaced scale."""

  num_scales: int
  scale_min: float
  scale_max: float

  def scale_fn(self, indexes: tf.Tensor) -> tf.Tensor:
    """Scales of (real-valued) indexes, exp-interpolated in the table."""
    log_min = math.log(self.scale_min)
    step = (math.log(self.scale_max) - log_min) / (self.num_scales - 1)
    return tf.math.exp(log_min + step * tf.cast(indexes, tf.float32))

  def latent_prior(self, indexes: tf.Tensor) -> tfc.NoisyNormal:
    """p(y | z): zero-mean NoisyNormal with scales indexed by h_s(z).

    Indexes are bounded to the table like the indexed entropy model does
    (with gradients passing where they point back into the range).
    """
    indexes = tfc.lower_bound(indexes, 0.0)
    indexes = tfc.upper_bound(indexes, float(self.num_scales - 1))
    return tfc.NoisyNormal(loc=0.0, scale=self.scale_fn(indexes))


class HyperpriorCodec:
  """The codec's passes over its transforms and priors.

  A plain object holding references: whoever builds it (the compression
  problem) owns, tracks and checkpoints the transforms and the hyperprior.
  """

  def __init__(
    self,
    transforms: Transforms,
    hyperprior_density: tfc.NoisyDeepFactorized,
    scale_table: ScaleTable,
    num_filters: int,
    conditioned: bool,
  ):
    """Holds the parts.

    Args:
      transforms: g_a, g_s, h_a, h_s.
      hyperprior_density: the prior of z, batch shape [num_filters].
      scale_table: the latent's scale table.
      num_filters: channels of z.
      conditioned: whether the transforms need `inputs_extra`.
    """
    self.transforms = transforms
    self.hyperprior = hyperprior_density
    self.scale_table = scale_table
    self.num_filters = num_filters
    self.conditioned = conditioned
    self._hyper_latent_tables_fn = None

  def _hyper_latent_tables(self):
    """(cdf, cdf_offset, quantization_offset) of the hyperprior's coder.

    Locating the prior's tails and median runs small optimisation loops, which
    take seconds op by op; a compiled function (variables are read at run
    time, so restoring a checkpoint needs no retrace) makes it a fraction of
    a second.
    """
    if self._hyper_latent_tables_fn is None:

      def tables():
        model = tfc.ContinuousBatchedEntropyModel(
          self.hyperprior, coding_rank=3, compression=True, stateless=True
        )
        return model.cdf, model.cdf_offset, model.quantization_offset

      self._hyper_latent_tables_fn = tf.function(tables)
    return self._hyper_latent_tables_fn()

  def entropy_models(self, stateless: bool = True) -> EntropyModels:
    """Entropy models with range-coding tables built from the current prior.

    Args:
      stateless: tables as tensors (to build inside a `tf.function`, as the
        evaluation does each batch) or as variables (for a SavedModel, so the
        encoder and decoder use identical tables).
    """
    table = self.scale_table
    latent = tfc.LocationScaleIndexedEntropyModel(
      tfc.NoisyNormal,
      table.num_scales,
      table.scale_fn,
      coding_rank=3,
      compression=True,
      stateless=stateless,
    )
    cdf, cdf_offset, offset = self._hyper_latent_tables()
    hyper_latent = tfc.ContinuousBatchedEntropyModel(
      prior_shape=(self.num_filters,),
      coding_rank=3,
      compression=True,
      stateless=stateless,
      cdf=cdf,
      cdf_offset=cdf_offset,
      quantization_offset=offset,
    )
    return EntropyModels(latent, hyper_latent)

  def _check_conditioning(self, inputs_extra):
    if self.conditioned and inputs_extra is None:
      raise ValueError(
        "This compression model is conditioned on λ and needs inputs_extra."
      )
    return inputs_extra if self.conditioned else None

  def _indexes(self, z_hat, y_shape, inputs_extra):
    """h_s(z_hat) cropped to the latent's [h, w]: the scale indexes."""
    indexes = self.transforms.hyper_synthesis(z_hat, inputs_extra)
    return hyperprior.crop_like(indexes, y_shape[1], y_shape[2])

  def _synthesize(self, y_hat, image_height, image_width, inputs_extra):
    x_hat = self.transforms.synthesis(y_hat, inputs_extra)
    return hyperprior.crop_like(x_hat, image_height, image_width)

  def analyze(
    self, images: tf.Tensor, inputs_extra: Optional[tf.Tensor]
  ) -> Tuple[tf.Tensor, tf.Tensor]:
    """(y, z) of [B, H, W, 3] images; see `QuantizedPass` for shapes."""
    inputs_extra = self._check_conditioning(inputs_extra)
    y = self.transforms.analysis(images, inputs_extra)
    z = self.transforms.hyper_analysis(tf.abs(y), inputs_extra)
    return y, z

  def noisy_pass(
    self, images: tf.Tensor, inputs_extra: Optional[tf.Tensor], seed: tf.Tensor
  ) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Training: latents plus U(-.5, .5) noise drawn from `seed` [2].

    Returns:
      (x~ [B, H, W, 3] unclipped, bits [B] of y~, side_bits [B] of z~).
    """
    inputs_extra = self._check_conditioning(inputs_extra)
    y, z = self.analyze(images, inputs_extra)
    y_seed, z_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    z_tilde = z + tf.random.stateless_uniform(tf.shape(z), z_seed, -0.5, 0.5)
    y_tilde = y + tf.random.stateless_uniform(tf.shape(y), y_seed, -0.5, 0.5)
    side_bits = bits_of(self.hyperprior.log_prob(z_tilde))
    indexes = self._indexes(z_tilde, tf.shape(y), inputs_extra)
    bits = bits_of(self.scale_table.latent_prior(indexes).log_prob(y_tilde))
    shape = tf.shape(images)
    x_tilde = self._synthesize(y_tilde, shape[1], shape[2], inputs_extra)
    return x_tilde, bits, side_bits

  def quantized_pass(
    self,
    images: tf.Tensor,
    inputs_extra: Optional[tf.Tensor],
    models: EntropyModels,
  ) -> QuantizedPass:
    """The codec's deterministic pass: quantized latents and their bits.

    y is rounded to integers and z to the hyper-latent model's quantization
    offsets, exactly as `compress` does, so `x_hat` is what `decompress`
    returns (before clipping). The bits are the Shannon information of the
    quantized latents, a tight estimate of the range-coded length.
    """
    inputs_extra = self._check_conditioning(inputs_extra)
    y, z = self.analyze(images, inputs_extra)
    z_hat = models.hyper_latent.quantize(z)
    side_bits = bits_of(self.hyperprior.log_prob(z_hat))
    indexes = self._indexes(z_hat, tf.shape(y), inputs_extra)
    y_hat = models.latent.quantize(y)
    bits = bits_of(self.scale_table.latent_prior(indexes).log_prob(y_hat))
    shape = tf.shape(images)
    x_hat = self._synthesize(y_hat, shape[1], shape[2], inputs_extra)
    return QuantizedPass(y, z, y_hat, z_hat, indexes, x_hat, bits, side_bits)

  def compress(
    self,
    images: tf.Tensor,
    inputs_extra: Optional[tf.Tensor],
    models: EntropyModels,
  ) -> Tuple[tf.Tensor, tf.Tensor]:
    """Range codes images: (latent strings [B], hyper-latent strings [B])."""
    inputs_extra = self._check_conditioning(inputs_extra)
    y, z = self.analyze(images, inputs_extra)
    z_hat = models.hyper_latent.quantize(z)
    indexes = self._indexes(z_hat, tf.shape(y), inputs_extra)
    return (models.latent.compress(y, indexes), models.hyper_latent.compress(z))

  def decompress(
    self,
    latent_strings: tf.Tensor,
    hyper_latent_strings: tf.Tensor,
    image_shape: tf.Tensor,
    inputs_extra: Optional[tf.Tensor],
    models: EntropyModels,
  ) -> tf.Tensor:
    """Decodes strings [B] of [H, W] = image_shape images: x_hat [B, H, W, 3].

    The latent shapes follow from the image shape
    (`hyperprior.latent_shapes`); the result is unclipped, like
    `quantized_pass(...).x_hat`.
    """
    inputs_extra = self._check_conditioning(inputs_extra)
    image_shape = tf.cast(image_shape, tf.int32)
    y_shape, z_shape = hyperprior.latent_shapes(image_shape)
    z_hat = models.hyper_latent.decompress(hyper_latent_strings, z_shape)
    batch = tf.shape(latent_strings)[0]
    indexes = self._indexes(
      z_hat, tf.stack([batch, y_shape[0], y_shape[1]]), inputs_extra
    )
    y_hat = models.latent.decompress(latent_strings, indexes)
    return self._synthesize(y_hat, image_shape[0], image_shape[1], inputs_extra)
