"""Image-quality metrics of the compression model and the codec.

Per example, for [B, H, W, 3] images ([0, 1] floats, or uint8 with
`max_val=255`): MSE on the 0-255 scale (the distortion loss), PSNR capped
at `MAX_PSNR_DB` for equal images, and MS-SSIM (Wang et al. 2003) with
fewer scales on images smaller than 176 pixels, as a value and in dB; and
the SSIM of luminance, how much of a content photo a stylized one keeps.
"""

import math
from typing import Dict, Optional

import tensorflow as tf

MS_SSIM_POWER_FACTORS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
MS_SSIM_FILTER_SIZE = 11


def mse_255(images: tf.Tensor, reconstructions: tf.Tensor) -> tf.Tensor:
  """Per-example MSE on the 0-255 scale of [0, 1] images: [B, H, W, C] -> [B]."""
  diff = 255.0 * (images - reconstructions)
  return tf.reduce_mean(tf.square(diff), axis=[1, 2, 3])


MAX_PSNR_DB = 100.0  # The PSNR of equal images, instead of infinity.


def psnr(
  images: tf.Tensor, reconstructions: tf.Tensor, max_val: float = 1.0
) -> tf.Tensor:
  """Per-example PSNR in dB of images in [0, max_val]: [..., H, W, C] -> [...].

  `tf.image.psnr`, capped at MAX_PSNR_DB so that an image decoded exactly
  does not turn a mean over images into infinity.
  """
  return tf.minimum(
    tf.image.psnr(images, reconstructions, max_val), MAX_PSNR_DB
  )


def psnr_of_mse_255(mse: float) -> float:
  """The PSNR in dB of an MSE on the 0-255 scale (capped at MAX_PSNR_DB):
  of a mean MSE over images, the PSNR of the images pooled as one."""
  if mse <= 0:
    return MAX_PSNR_DB
  return min(10.0 * math.log10(255.0**2 / mse), MAX_PSNR_DB)


def to_8bit(images: tf.Tensor) -> tf.Tensor:
  """What a decoder writes out: [0, 1] floats rounded to 256 levels."""
  return tf.round(tf.clip_by_value(images, 0.0, 1.0) * 255.0) / 255.0


def ms_ssim_scales(height: Optional[int], width: Optional[int]) -> int:
  """How many MS-SSIM scales fit an image: 5 from 176 pixels up.

  The coarsest scale must still be as large as the 11-pixel Gaussian window,
  so an image of side s supports floor(log2(s / 11)) + 1 scales (at least 1).
  Unknown sizes get the standard 5.
  """
  if height is None or width is None:
    return len(MS_SSIM_POWER_FACTORS)
  side = min(height, width)
  if side < MS_SSIM_FILTER_SIZE:
    return 1
  return int(
    min(
      len(MS_SSIM_POWER_FACTORS),
      math.floor(math.log2(side / MS_SSIM_FILTER_SIZE)) + 1,
    )
  )


def ms_ssim(images: tf.Tensor, reconstructions: tf.Tensor) -> tf.Tensor:
  """Per-example MS-SSIM of [0, 1] images [B, H, W, 3] -> [B].

  The standard 5-scale MS-SSIM (Wang et al. 2003, as `tf.image`) from 176
  pixels up; smaller images (training crops) use the first k scales with their
  power factors renormalised to sum to 1, and images under 11 pixels a
  correspondingly smaller window.
  """
  scales = ms_ssim_scales(images.shape[1], images.shape[2])
  factors = MS_SSIM_POWER_FACTORS[:scales]
  total = sum(factors)
  factors = tuple(f / total for f in factors)
  filter_size = MS_SSIM_FILTER_SIZE
  if images.shape[1] is not None and images.shape[2] is not None:
    filter_size = min(filter_size, images.shape[1], images.shape[2])
  return tf.image.ssim_multiscale(
    images, reconstructions, 1.0, power_factors=factors, filter_size=filter_size
  )


def luminance_ssim(images: tf.Tensor, references: tf.Tensor) -> tf.Tensor:
  """Per-example SSIM of the luminance of [0, 1] RGB images: [B, H, W, 3] -> [B].

  How much of a reference's structure an image keeps, whatever its colours:
  a stylized photo is compared with its content photo this way (1 for the
  same luminance, about 0 for unrelated images). The 11-pixel window shrinks
  to fit smaller images. Clipped to [-1, 1]: float32 rounding gives 1 + 2e-7
  for an image a hair away from its reference.
  """
  filter_size = MS_SSIM_FILTER_SIZE
  if images.shape[1] is not None and images.shape[2] is not None:
    filter_size = min(filter_size, images.shape[1], images.shape[2])
  ssim = tf.image.ssim(
    tf.image.rgb_to_grayscale(images),
    tf.image.rgb_to_grayscale(references),
    1.0,
    filter_size=filter_size,
  )
  return tf.clip_by_value(ssim, -1.0, 1.0)


def ms_ssim_db(value: tf.Tensor) -> tf.Tensor:
  """MS-SSIM on a dB scale, -10 log10(1 - ms_ssim), as in the paper's plots."""
  return -10.0 * tf.math.log(tf.maximum(1.0 - value, 1e-10)) / math.log(10.0)


def image_metrics(
  images: tf.Tensor, decoded: tf.Tensor
) -> Dict[str, tf.Tensor]:
  """psnr, ms_ssim and ms_ssim_db ([B] each) of decoded [0, 1] images."""
  value = ms_ssim(images, decoded)
  return {
    "psnr": psnr(images, decoded),
    "ms_ssim": value,
    "ms_ssim_db": ms_ssim_db(value),
  }
