"""The compression module's client: code images at any λ with real bits.

λ is the rate-distortion weight (loss = bpp + λ · MSE on the 0-255 scale):
larger λ, more bits, better quality. A YOTO module takes any λ of its
training range; a fixed-λ module only its own. `Codec.compress` turns a
uint8 image into a `codec_file.CompressedImage` (a `.yoto` file's contents)
and `Codec.decompress` turns one back, refusing, with a `CodecError`, a
file written with another module, a λ outside the module's range, or an
announced size over `max_pixels` or larger than the coded strings can hold
(`yoto.export.compression.check_coded_size`), all before anything is
allocated, so no image is ever decoded from bad input.
"""

import re
from typing import Optional, Tuple

import numpy as np
import tensorflow as tf

from yoto.clients import base
from yoto.clients import codec_file
from yoto.export import compression as codec_format
from yoto.utils import image_files

DISTORTION = "distortion"  # The loss λ weighs; rate's weight is 1.
CodecError = codec_file.CodecError


class Codec(base.ModuleClient):
  """Compresses and decompresses images with one compression module.

  Attributes (besides the base's):
    fingerprint: the first bytes of the module's weights fingerprint, which
      every file it writes carries.
  """

  PROBLEM = "HyperpriorCompressionProblem"
  KIND = "compression"
  SIGNATURES = ("compress", "decompress", "reconstruct")
  Error = CodecError

  def __init__(self, path, module, metadata):
    super().__init__(path, module, metadata)
    self.fingerprint = bytes.fromhex(metadata["fingerprint"])[
      : codec_file.FINGERPRINT_BYTES
    ]

  @property
  def lmbda_range(self) -> Optional[Tuple[float, float]]:
    """(low, high) of λ in training; None for a fixed-λ module."""
    return self.range_of(DISTORTION)

  @property
  def fixed_lmbda(self) -> Optional[float]:
    """The λ a fixed-λ module was trained at; None for a YOTO module."""
    fixed = self.conditioning.fixed_weights
    return None if self.is_conditioned or not fixed else fixed[DISTORTION]

  def check_lmbda(self, lmbda: Optional[float]) -> float:
    """The λ to code at: validated against what the module was trained for.

    Raises:
      CodecError: for a missing, non-positive or out-of-range λ, or a λ other
        than a fixed-λ module's own.
    """
    if lmbda is None:
      if self.fixed_lmbda is not None:
        return float(self.fixed_lmbda)
      if self.lmbda_range is None:
        raise CodecError(
          f"{self.path} records neither a λ range nor a "
          "fixed λ; export it again with this yoto."
        )
      low, high = self.lmbda_range
      raise CodecError(
        f"Give --lmbda, the rate-distortion weight, in "
        f"[{low:g}, {high:g}] (larger: more bits, better "
        "quality)."
      )
    return self.check_weight(
      DISTORTION,
      lmbda,
      "λ",
      fixed=self.fixed_lmbda,
      hint=" Leave out --lmbda or use a YOTO module.",
    )

  def _call(self, signature: str, image: np.ndarray, lmbda: Optional[float]):
    """Runs `compress` or `reconstruct` on one uint8 [H, W, 3] image at λ;
    returns (the outputs, λ as coded: rounded to float32)."""
    lmbda = float(np.float32(self.check_lmbda(lmbda)))
    batch = tf.constant(image[np.newaxis], tf.float32) / 255.0
    return self.module.signatures[signature](
      image=batch, lmbda=tf.constant(lmbda)
    ), lmbda

  def compress(
    self, image: np.ndarray, lmbda: Optional[float] = None
  ) -> codec_file.CompressedImage:
    """Codes one uint8 [H, W, 3] image at λ."""
    result, lmbda = self._call("compress", image, lmbda)
    height, width = (int(s) for s in result["image_shape"].numpy())
    return codec_file.CompressedImage(
      self.fingerprint,
      lmbda,
      height,
      width,
      result["hyper_latent_strings"].numpy()[0],
      result["latent_strings"].numpy()[0],
    )

  def reconstruct(
    self, image: np.ndarray, lmbda: Optional[float] = None
  ) -> Tuple[np.ndarray, float]:
    """(uint8 decoded image [H, W, 3], estimated bpp) without strings."""
    result, _ = self._call("reconstruct", image, lmbda)
    return (
      image_files.as_uint8(result["reconstruction"].numpy()[0]),
      float(result["estimated_bpp"].numpy()[0]),
    )

  def decompress(
    self,
    coded: codec_file.CompressedImage,
    name: str = "the file",
    max_pixels: int = image_files.DEFAULT_MAX_PIXELS,
  ) -> np.ndarray:
    """Decodes to uint8 [H, W, 3].

    Raises:
      CodecError: if the file was written with another module, holds a λ
        this module cannot decode at, announces more than `max_pixels`
        pixels, or a size its strings cannot code.
    """
    self.check_size(coded, name, max_pixels)
    if coded.fingerprint != self.fingerprint:
      raise CodecError(
        f"{name} was compressed with a different model (fingerprint "
        f"{coded.fingerprint.hex()}); this module's is "
        f"{self.fingerprint.hex()} ({self.path})."
      )
    try:
      lmbda = self.check_lmbda(coded.lmbda)
    except CodecError as e:
      raise CodecError(
        f"{name} cannot be decoded with this module: {e}"
      ) from None
    try:
      result = self.module.signatures["decompress"](
        latent_strings=tf.constant([coded.latent_string]),
        hyper_latent_strings=tf.constant([coded.hyper_latent_string]),
        image_shape=tf.constant([coded.height, coded.width], tf.int32),
        lmbda=tf.constant(lmbda, tf.float32),
      )
    except tf.errors.InvalidArgumentError as e:
      raise CodecError(
        f"{name} could not be decoded: {_decode_failure(e.message)}"
      ) from None
    return image_files.as_uint8(result["image"].numpy()[0])

  def check_size(
    self, coded: codec_file.CompressedImage, name: str, max_pixels: int
  ) -> None:
    """Refuses a header size that is too large or that the strings belie.

    Raises:
      CodecError: naming the file and what is wrong with its size.
    """
    try:
      image_files.check_pixels(
        coded.height, coded.width, max_pixels, f"the image in {name}"
      )
    except image_files.ImageTooLargeError as e:
      raise CodecError(str(e)) from None
    if max(coded.height, coded.width) > np.iinfo(np.int32).max:
      raise CodecError(
        f"{name} is corrupt: image size {coded.width}x{coded.height}."
      )
    try:
      codec_format.check_coded_size(
        coded.height,
        coded.width,
        len(coded.latent_string),
        len(coded.hyper_latent_string),
        self.metadata["num_filters"],
        # Modules exported before M was a setting have M = N.
        self.metadata.get("num_latent_filters"),
      )
    except ValueError as e:
      raise CodecError(f"{name} is corrupt: {e}") from None


def _decode_failure(message: str) -> str:
  """One line of why the module refused to decode (its message is a page)."""
  if "EntropyDecodeFinalize" in message:
    return (
      "the range decoder did not end where the coded strings do (they "
      "are corrupt)."
    )
  lines = [line.strip() for line in message.splitlines()]
  for line in lines:
    if line.startswith("assertion failed:"):
      parts = re.findall(r"\[([^\[\]]*)\]", line)
      return parts[0] if parts else line
  lines = [
    line
    for line in lines
    if line
    and not line.startswith(
      ("Graph execution error", "Detected at node", "<stack", "[[")
    )
  ]
  return lines[0] if lines else "the decoder failed."
