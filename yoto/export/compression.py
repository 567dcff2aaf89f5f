"""The compression model's hub module and the codec's format checks.

The module (`CompressionExportModule`) range codes images with the
λ-conditioned hyperprior of `yoto.problems.compression`; the checks bound how
many latent values strings of a given length can code, so that a corrupt or
forged image size is refused before decoding (in the module and in
`python -m yoto.compress`); `weights_fingerprint` identifies a trained model
in its metadata and in every compressed file.
"""

import hashlib
import math
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from yoto.architectures import hyperprior
from yoto.export import base
from yoto.weights import contract

# tensorflow-compression's range coder precision (its default, used by both
# entropy models here): probabilities are multiples of 2^-12.
RANGE_CODER_PRECISION = 12
# Bits a range-coded string may lack beyond the information of its symbols
# (the coder's final flush); generous, it only loosens the bound below.
RANGE_CODER_SLACK_BITS = 64


def max_coded_symbols(num_bytes, precision: int = RANGE_CODER_PRECISION):
  """The most symbols a range-coded string of `num_bytes` can hold.

  The quantized CDFs give every value, and the overflow bin, at least one
  count of 2^precision, so no symbol is likelier than 1 - 2^-precision and
  each costs at least -log2(1 - 2^-precision) bits (3.5e-4 at precision 12;
  measured, an all-zero latent costs about three times that). A decoder that
  is told to read more symbols than that from a string is being lied to: the
  range decoder itself would happily invent them. Works on ints and on
  float64 tensors.
  """
  bits_per_symbol = -math.log2(1.0 - 2.0**-precision)
  return (8 * num_bytes + RANGE_CODER_SLACK_BITS) / bits_per_symbol


def coded_symbols(
  height, width, num_filters: int, num_latent_filters: Optional[int] = None
):
  """(latent, hyper-latent) symbol counts of one height x width image.

  ceil(H/16) ceil(W/16) M and ceil(H/64) ceil(W/64) N for N = num_filters
  and M = num_latent_filters (None: N); works on ints and on int64 tensors.
  """
  y_height, y_width = (
    hyperprior.downsampled_size(s, hyperprior.LATENT_STRIDE)
    for s in (height, width)
  )
  z_height, z_width = (
    hyperprior.downsampled_size(s, hyperprior.HYPER_LATENT_STRIDE)
    for s in (height, width)
  )
  return (
    y_height * y_width * (num_latent_filters or num_filters),
    z_height * z_width * num_filters,
  )


def check_coded_size(
  height: int,
  width: int,
  latent_bytes: int,
  hyper_latent_bytes: int,
  num_filters: int,
  num_latent_filters: Optional[int] = None,
) -> None:
  """Checks that strings of these lengths can code a height x width image.

  Run before decoding, so that a header announcing a huge image over a few
  bytes of strings is refused before anything is allocated.

  Raises:
    ValueError: for a non-positive size, or a size whose latents cannot be
      coded in strings this short.
  """
  if height <= 0 or width <= 0:
    raise ValueError(f"the image size {width}x{height} is not positive.")
  counts = coded_symbols(height, width, num_filters, num_latent_filters)
  for name, count, num_bytes in (
    ("latent", counts[0], latent_bytes),
    ("hyper-latent", counts[1], hyper_latent_bytes),
  ):
    most = int(max_coded_symbols(num_bytes))
    if count > most:
      raise ValueError(
        f"a {width}x{height} image has {count} {name} values, but its "
        f"{num_bytes}-byte {name} string can code at most {most}."
      )


def _assert_coded_size(
  image_shape,
  latent_strings,
  hyper_latent_strings,
  num_filters,
  num_latent_filters,
):
  """The in-graph `check_coded_size` of a batch: assertion ops to depend on.

  image_shape is [2] int32; the strings are [B].
  """
  shape = tf.cast(image_shape, tf.int64)
  counts = coded_symbols(shape[0], shape[1], num_filters, num_latent_filters)
  checks = [
    tf.debugging.assert_positive(
      image_shape,
      message="decompress: image_shape must be positive [height, width].",
    )
  ]
  for name, count, strings in (
    ("latent", counts[0], latent_strings),
    ("hyper-latent", counts[1], hyper_latent_strings),
  ):
    most = max_coded_symbols(tf.cast(tf.strings.length(strings), tf.float64))
    checks.append(
      tf.debugging.Assert(
        tf.reduce_all(tf.cast(count, tf.float64) <= most),
        [
          f"decompress: image_shape announces more {name} values than the "
          f"{name} strings can code (a corrupt or forged image_shape); "
          "image_shape:",
          image_shape,
        ],
      )
    )
  return checks


def weights_fingerprint(variables: Sequence[tf.Variable]) -> str:
  """SHA-256 (hex) of variable names and values: identifies a trained model.

  Stored in a module's metadata and in every compressed file, so that a file
  is never decoded with another model's weights or tables (which would give a
  wrong image, or garbage, silently).
  """
  digest = hashlib.sha256()
  for variable in sorted(variables, key=lambda v: v.name):
    digest.update(variable.name.encode())
    digest.update(np.ascontiguousarray(variable.numpy()).tobytes())
  return digest.hexdigest()


class CompressionExportModule(base.ExportModule):
  """What a compression hub module offers.

  Images are float32 [B, H, W, 3] in [0, 1], any H and W. `lmbda` is the raw
  rate-distortion weight λ (the distortion weight; the rate weight is 1): a
  scalar for the whole batch or one per example [B]. It is checked (positive,
  inside the training range for a YOTO model) and turned into the network's
  conditioning input inside the module. A fixed-λ model accepts any positive
  λ and ignores it (its metadata says which λ it was trained with).

  Signatures:
    compress(image, lmbda) -> {latent_strings [B], hyper_latent_strings [B],
        image_shape [2] int32}
    decompress(latent_strings, hyper_latent_strings, image_shape, lmbda)
        -> {image [B, H, W, 3] in [0, 1]}; an image_shape that is not
        positive, or whose latents cannot fit in strings of these lengths
        (`check_coded_size`), is an InvalidArgumentError before decoding.
    reconstruct(image, lmbda) -> {reconstruction [B, H, W, 3] in [0, 1],
        estimated_bpp [B]}: bit-identical to decompress(compress(.)) for the
        same batch.
    metadata() -> {metadata: JSON with the loss names, λ range, architecture
        and the weights' fingerprint}

  Loading needs `import tensorflow_compression` (it registers the range
  coding ops). Range coding across machines needs bit-identical h_s outputs;
  see tensorflow-compression on integer networks. `__call__` is
  `reconstruct` (inputs `[image, lmbda]`).
  """

  def __init__(self, problem, conditioning: contract.LossConditioning):
    """Exports a built `HyperpriorCompressionProblem` with its contract."""
    # Tables fixed at export time, stored as variables in the SavedModel.
    models = problem.codec.entropy_models(stateless=False)
    variables = _unique(
      list(problem.variables) + [v for model in models for v in model.variables]
    )
    fingerprint = weights_fingerprint(variables)
    super().__init__(
      "yoto_compression",
      problem,
      variables,
      conditioning,
      _metadata(problem, conditioning, fingerprint),
    )
    self.models = models
    self.fingerprint = fingerprint
    image = tf.TensorSpec([None, None, None, 3], tf.float32, "image")
    lmbda = tf.TensorSpec(None, tf.float32, "lmbda")
    self.add_signature("compress", self._compress, image, lmbda)
    self.add_signature(
      "decompress",
      self._decompress,
      tf.TensorSpec([None], tf.string, "latent_strings"),
      tf.TensorSpec([None], tf.string, "hyper_latent_strings"),
      tf.TensorSpec([2], tf.int32, "image_shape"),
      lmbda,
    )
    self.add_signature(
      "reconstruct", self._reconstruct, image, lmbda, default=True
    )
    self.add_metadata_signature()

  def _checked(self, lmbda, tensor):
    """Validates λ; returns (tensor, gated on the checks, inputs_extra).

    inputs_extra is [B, 2], or None for a fixed-λ model, which still rejects
    a malformed or non-positive λ.
    """
    return self.inputs_extra_at(base.weight_and_one(lmbda), tensor)

  @staticmethod
  def _checked_image(image):
    """The image, gated on being [B, H, W, 3] with H, W >= 1.

    A SavedModel signature does not enforce its TensorSpec's shape, so a
    one-channel image would otherwise fail deep inside the first convolution.
    """
    shape = tf.shape(image)
    padded = tf.concat([shape, tf.zeros([4], tf.int32)], 0)  # Any rank.
    check = tf.debugging.Assert(
      (tf.size(shape) == 4)
      & (padded[3] == 3)
      & (tf.reduce_min(padded[1:3]) > 0),
      [
        "image must be float32 [batch, height, width, 3]: RGB in [0, 1], "
        "height and width at least 1; got shape",
        shape,
      ],
    )
    return base.gated(image, [check])

  def _compress(self, image, lmbda):
    image = self._checked_image(image)
    image, inputs_extra = self._checked(lmbda, image)
    latent, hyper_latent = self._problem.value.codec.compress(
      image, inputs_extra, self.models
    )
    return {
      "latent_strings": latent,
      "hyper_latent_strings": hyper_latent,
      "image_shape": tf.shape(image)[1:3],
    }

  def _decompress(
    self, latent_strings, hyper_latent_strings, image_shape, lmbda
  ):
    latent_strings, inputs_extra = self._checked(lmbda, latent_strings)
    # Checked before decoding: a forged image_shape must not allocate.
    latent_strings = base.gated(
      latent_strings,
      _assert_coded_size(
        image_shape,
        latent_strings,
        hyper_latent_strings,
        self._problem.value.num_filters,
        self._problem.value.num_latent_filters,
      ),
    )
    x_hat = self._problem.value.codec.decompress(
      latent_strings,
      hyper_latent_strings,
      image_shape,
      inputs_extra,
      self.models,
    )
    return {"image": tf.clip_by_value(x_hat, 0.0, 1.0)}

  def _reconstruct(self, image, lmbda):
    image = self._checked_image(image)
    image, inputs_extra = self._checked(lmbda, image)
    result = self._problem.value.codec.quantized_pass(
      image, inputs_extra, self.models
    )
    num_pixels = tf.cast(tf.reduce_prod(tf.shape(image)[1:3]), tf.float32)
    rate = (result.bits + result.side_bits) / num_pixels
    return {
      "reconstruction": tf.clip_by_value(result.x_hat, 0.0, 1.0),
      "estimated_bpp": rate,
    }


def _metadata(problem, conditioning, fingerprint):
  """The module's facts besides the contract's fields (added by the base)."""
  metadata = {
    "problem": "HyperpriorCompressionProblem",
    "num_filters": problem.num_filters,
    "num_latent_filters": problem.num_latent_filters,
    "num_scales": problem.num_scales,
    "scale_min": problem.scale_min,
    "scale_max": problem.scale_max,
    "image_range": [0.0, 1.0],
    "conditioning_input_offset": (
      None
      if problem.conditioning_input_offset is None
      else list(problem.conditioning_input_offset)
    ),
    "fingerprint": fingerprint,
  }
  if conditioning.ranges:
    metadata["lmbda_range"] = list(conditioning.ranges["distortion"])
  if conditioning.fixed_weights:
    metadata["lmbda"] = conditioning.fixed_weights["distortion"]
  return metadata


def _unique(variables):
  """`variables` without repeats, in order (as tf.Module.variables)."""
  seen = set()
  return [v for v in variables if v.ref() not in seen and not seen.add(v.ref())]
