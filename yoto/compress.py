r"""Compress images at any rate with one exported YOTO compression module.

  python -m yoto.compress compress --module=DIR --lmbda=0.01 in.png out.yoto
  python -m yoto.compress decompress --module=DIR out.yoto restored.png \
      [--original=in.png]
  python -m yoto.compress evaluate --module=DIR --images='kodak/*.png' \
      --lmbda=0.0012,0.01,0.26 [--metrics_file=DIR/metrics.jsonl]

`--module` is a hub module exported by training (`model_dir/hub_modules/
step-XXXXXXXXX`) or a model_dir (its newest module). λ is the rate-distortion
weight (loss = bpp + λ · MSE on the 0-255 scale): larger λ, more bits, better
quality. A YOTO module takes any λ of its training range; a fixed-λ module
only its own (and `--lmbda` may be left out).

The file format (version 1) stores everything decoding needs, big-endian:

  magic        4 bytes   b"YOTO"
  version      1 byte    1
  fingerprint  8 bytes   first 8 bytes of the module's weights fingerprint
  lmbda        float32   the λ the image was coded at (the decoder needs it)
  height       uint32    image size in pixels
  width        uint32
  side_length  uint32    bytes of the hyper-latent string
  main_length  uint32    bytes of the latent string
  crc32        uint32    of every byte before it and of the payload
  payload      the hyper-latent string, then the latent string

A truncated or corrupt file, a file written with another module, a file that
is not an image, or a λ outside the module's range are rejected with a
`CodecError` naming the problem; no image is ever decoded from bad input.
The header's image size is never trusted: it must be within `--max_pixels`
(default 4096x4096, like PIL's MAX_IMAGE_PIXELS) and its latents (H/16 x W/16
x filters and H/64 x W/64 x filters values) must fit in the coded strings'
lengths (see `codec_format.check_coded_size`), both checked before anything is
allocated. Images to compress are bounded the same way, from their header,
before their pixels are decoded.

`evaluate` compresses every image at every λ with real range coding and
appends one metrics row per λ (mean over images: psnr, ms_ssim, ms_ssim_db,
estimated_bpp, actual_bpp from the coded strings, file_bpp with the header)
to a metrics file in the format of `yoto.results` (`split` is the
`--split` name), so full-size test sets such as Kodak sit next to the crops
evaluated during training.
"""

import dataclasses
import functools
import glob
import json
import math
import os
import re
import struct
import sys
import time
import zlib
from typing import Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf
# Importing tensorflow_compression registers the range coding ops modules use.
import tensorflow_compression  # noqa: F401  # pylint: disable=unused-import

from yoto import results
from yoto.export import compression as codec_format
from yoto.problems import image_metrics
from yoto.training import export
from yoto.utils import arguments
from yoto.utils import image_files
from yoto.weights import contract

COMMAND = "yoto.compress"
MAGIC = b"YOTO"
FORMAT_VERSION = 1
FINGERPRINT_BYTES = 8
# magic, version, fingerprint, λ, height, width, two string lengths.
_FIELDS = struct.Struct(">4sB8sfIIII")
_CRC = struct.Struct(">I")
HEADER_SIZE = _FIELDS.size + _CRC.size


class CodecError(ValueError):
  """Bad input to the codec: reported to the user without a traceback."""


@dataclasses.dataclass(frozen=True)
class CompressedImage:
  """One coded image: what a `.yoto` file holds."""
  fingerprint: bytes
  lmbda: float
  height: int
  width: int
  hyper_latent_string: bytes
  latent_string: bytes

  @property
  def num_pixels(self) -> int:
    return self.height * self.width

  def to_bytes(self) -> bytes:
    """The file contents: header, CRC32, payload."""
    fields = _FIELDS.pack(MAGIC, FORMAT_VERSION, self.fingerprint,
                          self.lmbda, self.height, self.width,
                          len(self.hyper_latent_string),
                          len(self.latent_string))
    payload = self.hyper_latent_string + self.latent_string
    crc = zlib.crc32(payload, zlib.crc32(fields))
    return fields + _CRC.pack(crc) + payload

  @classmethod
  def from_bytes(cls, data: bytes, name: str = "the file"
                 ) -> "CompressedImage":
    """Parses and checks a file's contents.

    Raises:
      CodecError: for anything but an intact version-1 file.
    """
    if not data:
      raise CodecError(f"{name} is empty.")
    if not MAGIC.startswith(data[:len(MAGIC)]):
      raise CodecError(f"{name} is not a YOTO compressed image (it does not "
                       f"start with {MAGIC!r}).")
    if len(data) < HEADER_SIZE:
      raise CodecError(f"{name} is truncated: {len(data)} bytes, shorter than "
                       f"the {HEADER_SIZE}-byte header.")
    (_, version, fingerprint, lmbda, height, width, side_length,
     main_length) = _FIELDS.unpack_from(data)
    if version != FORMAT_VERSION:
      raise CodecError(f"{name} has format version {version}; this yoto "
                       f"reads version {FORMAT_VERSION}.")
    expected = HEADER_SIZE + side_length + main_length
    if len(data) < expected:
      raise CodecError(f"{name} is truncated: the header announces {expected} "
                       f"bytes, the file has {len(data)}.")
    if len(data) > expected:
      raise CodecError(f"{name} is corrupt: {len(data) - expected} bytes "
                       "follow the announced end of the data.")
    (crc,) = _CRC.unpack_from(data, _FIELDS.size)
    payload = data[HEADER_SIZE:]
    if zlib.crc32(payload, zlib.crc32(data[:_FIELDS.size])) != crc:
      raise CodecError(f"{name} is corrupt: its checksum does not match.")
    if not height or not width:
      raise CodecError(f"{name} is corrupt: image size {height}x{width}.")
    return cls(fingerprint, lmbda, height, width, payload[:side_length],
               payload[side_length:])


def read_image(path: str,
               max_pixels: int = image_files.DEFAULT_MAX_PIXELS
               ) -> np.ndarray:
  """Reads a PNG / JPEG / BMP / GIF as uint8 [H, W, 3] (alpha dropped).

  Raises:
    CodecError: if the file is missing, not a decodable image, or larger
      than `max_pixels` (checked from its header, before decoding).
  """
  try:
    image_files.check_file(path, max_pixels)
  except image_files.ImageTooLargeError as e:
    raise CodecError(str(e)) from None
  try:
    data = tf.io.read_file(path)
  except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError) as e:
    raise CodecError(f"Cannot read {path}: {e.message}") from None
  try:
    image = tf.io.decode_image(data, channels=3, expand_animations=False)
  except tf.errors.InvalidArgumentError:
    raise CodecError(f"{path} is not an image (PNG, JPEG, BMP or GIF "
                     "expected).") from None
  return image.numpy()


def write_png(path: str, image: np.ndarray) -> None:
  """Writes uint8 [H, W, 3] as PNG."""
  tf.io.write_file(path, tf.io.encode_png(image))


def to_uint8(image: np.ndarray) -> np.ndarray:
  """[0, 1] floats -> uint8, rounding (the decoder's output)."""
  return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def psnr(original: np.ndarray, decoded: np.ndarray) -> float:
  """PSNR in dB of two uint8 images (`image_metrics.psnr`)."""
  return float(image_metrics.psnr(original, decoded, max_val=255))


class Codec:
  """Compresses and decompresses images with one loaded hub module.

  `Codec.load` caches codecs by module path, so a process that codes many
  files (or the tests) loads each module once; loading parses a SavedModel
  of a few hundred functions, which takes seconds.
  """

  @classmethod
  def load(cls, module_path: str) -> "Codec":
    path = export.resolve_hub_module(module_path)
    return cls._load(os.path.abspath(path),
                     os.path.getmtime(os.path.join(path, "saved_model.pb")))

  @classmethod
  @functools.lru_cache(maxsize=None)
  def _load(cls, path: str, mtime: float) -> "Codec":
    del mtime  # Only part of the cache key: a re-exported module reloads.
    return cls(path)

  def __init__(self, module_path: str):
    self.path = export.resolve_hub_module(module_path)
    self.module = tf.saved_model.load(self.path)
    try:
      self.metadata = json.loads(
          self.module.signatures["metadata"]()["metadata"].numpy())
    except KeyError:
      raise CodecError(f"{self.path} is not a compression module (it has no "
                       "metadata signature).") from None
    if self.metadata.get("problem") != "HyperpriorCompressionProblem":
      raise CodecError(f"{self.path} is a {self.metadata.get('problem')} "
                       "module, not a compression module.")
    self.fingerprint = bytes.fromhex(
        self.metadata["fingerprint"])[:FINGERPRINT_BYTES]
    ranges = self.metadata.get("lmbda_range")
    self.lmbda_range = tuple(ranges) if ranges else None
    self.fixed_lmbda = self.metadata.get("lmbda")

  @property
  def is_conditioned(self) -> bool:
    return self.lmbda_range is not None

  def check_lmbda(self, lmbda: Optional[float]) -> float:
    """The λ to code at: validated against what the module was trained for.

    Raises:
      CodecError: for a missing, non-positive or out-of-range λ, or a λ other
        than a fixed-λ module's own.
    """
    if lmbda is None:
      if self.fixed_lmbda is None:
        low, high = self.lmbda_range
        raise CodecError(f"Give --lmbda, the rate-distortion weight, in "
                         f"[{low:g}, {high:g}] (larger: more bits, better "
                         "quality).")
      return float(self.fixed_lmbda)
    lmbda = float(lmbda)
    if not math.isfinite(lmbda) or lmbda <= 0:
      raise CodecError(f"λ must be a positive number, got {lmbda:g}.")
    slack = contract.LossConditioning.RANGE_TOLERANCE
    if self.is_conditioned:
      low, high = self.lmbda_range
      if not low * (1 - slack) <= lmbda <= high * (1 + slack):
        raise CodecError(f"λ={lmbda:g} is outside [{low:g}, {high:g}], the "
                         "range this module was trained on.")
    elif abs(lmbda - self.fixed_lmbda) > slack * self.fixed_lmbda:
      raise CodecError(f"This module was trained for the single λ="
                       f"{self.fixed_lmbda:g}; got λ={lmbda:g}. Leave out "
                       "--lmbda or use a YOTO module.")
    return lmbda

  def compress(self, image: np.ndarray,
               lmbda: Optional[float] = None) -> CompressedImage:
    """Codes one uint8 [H, W, 3] image at λ."""
    lmbda = float(np.float32(self.check_lmbda(lmbda)))
    batch = tf.constant(image[np.newaxis], tf.float32) / 255.0
    result = self.module.signatures["compress"](image=batch,
                                                lmbda=tf.constant(lmbda))
    height, width = (int(s) for s in result["image_shape"].numpy())
    return CompressedImage(
        self.fingerprint, lmbda, height, width,
        result["hyper_latent_strings"].numpy()[0],
        result["latent_strings"].numpy()[0])

  def decompress(self, coded: CompressedImage, name: str = "the file",
                 max_pixels: int = image_files.DEFAULT_MAX_PIXELS
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
          f"{self.fingerprint.hex()} ({self.path}).")
    try:
      lmbda = self.check_lmbda(coded.lmbda)
    except CodecError as e:
      raise CodecError(f"{name} cannot be decoded with this module: {e}"
                       ) from None
    try:
      result = self.module.signatures["decompress"](
          latent_strings=tf.constant([coded.latent_string]),
          hyper_latent_strings=tf.constant([coded.hyper_latent_string]),
          image_shape=tf.constant([coded.height, coded.width], tf.int32),
          lmbda=tf.constant(lmbda, tf.float32))
    except tf.errors.InvalidArgumentError as e:
      raise CodecError(f"{name} could not be decoded: "
                       f"{_decode_failure(e.message)}") from None
    return to_uint8(result["image"].numpy()[0])

  def check_size(self, coded: CompressedImage, name: str,
                 max_pixels: int) -> None:
    """Refuses a header size that is too large or that the strings belie.

    Raises:
      CodecError: naming the file and what is wrong with its size.
    """
    try:
      image_files.check_pixels(coded.height, coded.width, max_pixels,
                               f"the image in {name}")
    except image_files.ImageTooLargeError as e:
      raise CodecError(str(e)) from None
    if max(coded.height, coded.width) > np.iinfo(np.int32).max:
      raise CodecError(f"{name} is corrupt: image size {coded.width}x"
                       f"{coded.height}.")
    try:
      codec_format.check_coded_size(
          coded.height, coded.width, len(coded.latent_string),
          len(coded.hyper_latent_string), self.metadata["num_filters"],
          # Modules exported before M was a setting have M = N.
          self.metadata.get("num_latent_filters"))
    except ValueError as e:
      raise CodecError(f"{name} is corrupt: {e}") from None

  def reconstruct(self, image: np.ndarray, lmbda: Optional[float] = None):
    """(uint8 decoded image, estimated bpp) without producing strings."""
    lmbda = float(np.float32(self.check_lmbda(lmbda)))
    batch = tf.constant(image[np.newaxis], tf.float32) / 255.0
    result = self.module.signatures["reconstruct"](image=batch,
                                                   lmbda=tf.constant(lmbda))
    return (to_uint8(result["reconstruction"].numpy()[0]),
            float(result["estimated_bpp"].numpy()[0]))


def _decode_failure(message: str) -> str:
  """One line of why the module refused to decode (its message is a page)."""
  if "EntropyDecodeFinalize" in message:
    return ("the range decoder did not end where the coded strings do (they "
            "are corrupt).")
  lines = [line.strip() for line in message.splitlines()]
  for line in lines:
    if line.startswith("assertion failed:"):
      parts = re.findall(r"\[([^\[\]]*)\]", line)
      return parts[0] if parts else line
  lines = [line for line in lines if line and not line.startswith(
      ("Graph execution error", "Detected at node", "<stack", "[["))]
  return lines[0] if lines else "the decoder failed."


def bpp(coded: CompressedImage, with_header: bool = True) -> float:
  """Bits per pixel of the file (or of the strings alone)."""
  num_bytes = len(coded.hyper_latent_string) + len(coded.latent_string)
  if with_header:
    num_bytes += HEADER_SIZE
  return 8.0 * num_bytes / coded.num_pixels


@dataclasses.dataclass(frozen=True)
class SweepPoint:
  """One image coded at one λ: the decoded image and what it cost."""
  lmbda: float
  decoded: np.ndarray  # uint8 [H, W, 3].
  bpp: float  # Of the whole file, header included.
  psnr: float


def sweep(codec: Codec, image: np.ndarray,
          lambdas: Sequence[float]) -> List[SweepPoint]:
  """Codes one uint8 image at each λ (real files, real decoding)."""
  points = []
  for lmbda in lambdas:
    coded = codec.compress(image, lmbda)
    decoded = codec.decompress(CompressedImage.from_bytes(coded.to_bytes()))
    points.append(SweepPoint(coded.lmbda, decoded, bpp(coded),
                             psnr(image, decoded)))
  return points


def _module_step(path: str) -> int:
  name = os.path.basename(os.path.normpath(path))
  return int(name[len("step-"):]) if name.startswith("step-") and \
      name[len("step-"):].isdigit() else 0


def evaluate(codec: Codec, paths: Sequence[str], lambdas: Sequence[float],
             split: str = "images",
             max_pixels: int = image_files.DEFAULT_MAX_PIXELS) -> List[Dict]:
  """Codes every image file at every λ; see `evaluate_images`."""
  return evaluate_images(codec, [read_image(path, max_pixels)
                                 for path in paths], lambdas, split)


def evaluate_images(codec: Codec, images: Sequence[np.ndarray],
                    lambdas: Sequence[float],
                    split: str = "images") -> List[Dict]:
  """Codes every uint8 [H, W, 3] image at every λ; one metrics row per λ.

  Each row is the mean over images of psnr, ms_ssim, ms_ssim_db (on the
  decoded 8-bit images), estimated_bpp, actual_bpp (range-coded strings),
  file_bpp (with the header), distortion (MSE, 0-255 scale), rate (=
  estimated_bpp) and full_loss (rate + λ · distortion), as `yoto.results`
  rows, plus pooled_psnr (the PSNR of the mean MSE: for images of one size,
  the PSNR of all of them as one image, which the mean of per-image PSNRs
  overstates when some images are much easier than others) and encode /
  decode throughput in megapixels per second.
  """
  if images and lambdas:  # Untimed warm-up: the first calls build kernels.
    codec.decompress(codec.compress(images[0], lambdas[0]))
  rows = []
  for lmbda in lambdas:
    lmbda = codec.check_lmbda(lmbda)
    totals: Dict[str, float] = {}
    pixels, encode_seconds, decode_seconds = 0, 0.0, 0.0
    for image in images:
      start = time.perf_counter()
      coded = codec.compress(image, lmbda)
      data = coded.to_bytes()
      encode_seconds += time.perf_counter() - start
      start = time.perf_counter()
      decoded = codec.decompress(CompressedImage.from_bytes(data))
      decode_seconds += time.perf_counter() - start
      pixels += coded.num_pixels
      _, estimated = codec.reconstruct(image, lmbda)
      values = _image_values(image, decoded)
      values.update(estimated_bpp=estimated, rate=estimated,
                    actual_bpp=bpp(coded, with_header=False),
                    file_bpp=bpp(coded))
      values["full_loss"] = values["rate"] + lmbda * values["distortion"]
      for key, value in values.items():
        totals[key] = totals.get(key, 0.0) + value
    values = {k: v / len(images) for k, v in totals.items()}
    values["pooled_psnr"] = image_metrics.psnr_of_mse_255(
        values["distortion"])
    values["encode_megapixels_per_second"] = pixels / 1e6 / encode_seconds
    values["decode_megapixels_per_second"] = pixels / 1e6 / decode_seconds
    rows.append({"step": _module_step(codec.path), "split": split,
                 "weights": {"distortion": lmbda, "rate": 1.0},
                 "values": values, "num_examples": len(images),
                 "model": "yoto" if codec.is_conditioned else "fixed",
                 "module": codec.path})
  return rows


def _image_values(original: np.ndarray, decoded: np.ndarray):
  """distortion, psnr, ms_ssim, ms_ssim_db of one decoded uint8 image."""
  x = tf.constant(original[np.newaxis], tf.float32) / 255.0
  x_hat = tf.constant(decoded[np.newaxis], tf.float32) / 255.0
  values = image_metrics.image_metrics(x, x_hat)
  values["distortion"] = image_metrics.mse_255(x, x_hat)
  return {k: float(v.numpy()[0]) for k, v in values.items()}


# -- The command line. ------------------------------------------------------


def _compress_command(args) -> str:
  codec = Codec.load(args.module)
  image = read_image(args.input, args.max_pixels)
  coded = codec.compress(image, args.lmbda)
  data = coded.to_bytes()
  with open(args.output, "wb") as f:
    f.write(data)
  decoded, _ = codec.reconstruct(image, coded.lmbda)
  return (f"{args.output}: {len(data)} bytes, {bpp(coded):.4f} bpp "
          f"({coded.width}x{coded.height}, λ={coded.lmbda:g}), PSNR "
          f"{psnr(image, decoded):.2f} dB")


def _decompress_command(args) -> str:
  codec = Codec.load(args.module)
  try:
    with open(args.input, "rb") as f:
      data = f.read()
  except OSError as e:
    raise CodecError(f"Cannot read {args.input}: {e.strerror}") from None
  coded = CompressedImage.from_bytes(data, args.input)
  decoded = codec.decompress(coded, args.input, args.max_pixels)
  write_png(args.output, decoded)
  message = (f"{args.output}: {coded.width}x{coded.height}, {bpp(coded):.4f} "
             f"bpp, λ={coded.lmbda:g}")
  if args.original:
    original = read_image(args.original, args.max_pixels)
    if original.shape != decoded.shape:
      raise CodecError(f"--original {args.original} is {original.shape[1]}x"
                       f"{original.shape[0]}, the decoded image "
                       f"{coded.width}x{coded.height}.")
    message += f", PSNR {psnr(original, decoded):.2f} dB"
  return message


def _evaluate_command(args) -> str:
  codec = Codec.load(args.module)
  paths = sorted(glob.glob(args.images))
  if not paths:
    raise CodecError(f"No file matches --images={args.images!r}.")
  lambdas = args.lmbda or [codec.check_lmbda(None)]
  rows = evaluate(codec, paths, lambdas, args.split, args.max_pixels)
  if args.metrics_file:
    results.append_rows(args.metrics_file, rows)
  lines = [f"{len(paths)} images, module {codec.path}:"]
  for row in rows:
    v = row["values"]
    lines.append(
        f"  λ={row['weights']['distortion']:<8g} bpp {v['file_bpp']:.4f} "
        f"(strings {v['actual_bpp']:.4f}, estimate {v['estimated_bpp']:.4f})"
        f"  PSNR {v['psnr']:.2f} dB  MS-SSIM {v['ms_ssim_db']:.2f} dB  "
        f"encode {v['encode_megapixels_per_second']:.2f} MP/s, decode "
        f"{v['decode_megapixels_per_second']:.2f} MP/s")
  if args.metrics_file:
    lines.append(f"rows appended to {args.metrics_file}")
  return "\n".join(lines)


def _parser() -> arguments.ArgumentParser:
  parser = arguments.ArgumentParser(
      COMMAND, description="Compress images at any rate with one YOTO module.")
  commands = parser.add_subparsers(dest="command", required=True)

  def add_module(sub):
    sub.add_argument("--module", required=True,
                     help="Exported hub module (model_dir/hub_modules/"
                     "step-XXXXXXXXX) or a model_dir (uses its newest).")
    sub.add_argument("--max_pixels", type=arguments.positive_int,
                     default=image_files.DEFAULT_MAX_PIXELS,
                     help=image_files.MAX_PIXELS_HELP)

  sub = commands.add_parser("compress", help="Image -> .yoto file.")
  add_module(sub)
  sub.add_argument("--lmbda", type=arguments.number, default=None,
                   help="Rate-distortion weight λ (loss = bpp + λ · MSE on "
                   "0-255): larger gives more bits and better quality. "
                   "Optional for a fixed-λ module.")
  sub.add_argument("input", help="Image to compress (PNG, JPEG, BMP, GIF).")
  sub.add_argument("output", help="Compressed file to write.")

  sub = commands.add_parser("decompress", help=".yoto file -> PNG.")
  add_module(sub)
  sub.add_argument("--original", default=None,
                   help="The original image, to print the PSNR.")
  sub.add_argument("input", help="Compressed file to read.")
  sub.add_argument("output", help="PNG file to write.")

  sub = commands.add_parser(
      "evaluate", help="Rate-distortion of a set of images, with real "
      "range coding.")
  add_module(sub)
  sub.add_argument("--images", required=True,
                   help="Glob of images, e.g. 'kodak/*.png'.")
  sub.add_argument("--lmbda", type=arguments.numbers, default=None,
                   help="Comma-separated λ values (default: a fixed-λ "
                   "module's own).")
  sub.add_argument("--split", default="images",
                   help="Split name written to the metrics rows.")
  sub.add_argument("--metrics_file", default=None,
                   help="Append the rows to this metrics.jsonl file.")
  return parser


def _execute(args) -> str:
  return {"compress": _compress_command,
          "decompress": _decompress_command,
          "evaluate": _evaluate_command}[args.command](args)


USER_ERRORS = (CodecError, export.HubModuleNotFoundError)


def main(argv: Optional[Sequence[str]] = None) -> int:
  """Runs one subcommand; returns the exit status (1 on a user error)."""
  return arguments.run(COMMAND, _parser(), _execute,
                       sys.argv[1:] if argv is None else argv, USER_ERRORS)


if __name__ == "__main__":
  arguments.run_app(COMMAND, _parser, _execute, USER_ERRORS)
