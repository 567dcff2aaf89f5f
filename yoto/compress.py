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

Coded files are `.yoto` files (`yoto.clients.codec_file`: a header with the
module's fingerprint, λ and the image size, a CRC32, the range-coded
strings); the codec is the module's client, `yoto.clients.codec.Codec`.
A truncated or corrupt file, a file written with another module, a file that
is not an image, or a λ outside the module's range are rejected with a
one-line error naming the problem; no image is ever decoded from bad input.
The header's image size is never trusted: it must be within `--max_pixels`
(default 4096x4096, like PIL's MAX_IMAGE_PIXELS) and its latents must fit in
the coded strings' lengths, both checked before anything is allocated.
Images to compress are bounded the same way, from their header, before their
pixels are decoded.

`evaluate` compresses every image at every λ with real range coding and
appends one metrics row per λ (mean over images: psnr, ms_ssim, ms_ssim_db,
estimated_bpp, actual_bpp from the coded strings, file_bpp with the header)
to a metrics file in the format of `yoto.results` (`split` is the
`--split` name), so full-size test sets such as Kodak sit next to the crops
evaluated during training.
"""

import dataclasses
import glob
import sys
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from yoto import results
from yoto.clients import base
from yoto.clients import codec as codec_lib
from yoto.clients import codec_file
from yoto.problems import image_metrics
from yoto.utils import arguments
from yoto.utils import image_files

COMMAND = "yoto.compress"


def psnr(original: np.ndarray, decoded: np.ndarray) -> float:
  """PSNR in dB of two uint8 images (`image_metrics.psnr`)."""
  return float(image_metrics.psnr(original, decoded, max_val=255))


@dataclasses.dataclass(frozen=True)
class SweepPoint:
  """One image coded at one λ: the decoded image and what it cost."""

  lmbda: float
  decoded: np.ndarray  # uint8 [H, W, 3].
  bpp: float  # Of the whole file, header included.
  psnr: float


def sweep(
  codec: codec_lib.Codec, image: np.ndarray, lambdas: Sequence[float]
) -> List[SweepPoint]:
  """Codes one uint8 image at each λ (real files, real decoding)."""
  points = []
  for lmbda in lambdas:
    coded = codec.compress(image, lmbda)
    decoded = codec.decompress(
      codec_file.CompressedImage.from_bytes(coded.to_bytes())
    )
    points.append(
      SweepPoint(
        coded.lmbda, decoded, codec_file.bpp(coded), psnr(image, decoded)
      )
    )
  return points


def evaluate(
  codec: codec_lib.Codec,
  paths: Sequence[str],
  lambdas: Sequence[float],
  split: str = "images",
  max_pixels: int = image_files.DEFAULT_MAX_PIXELS,
) -> List[Dict]:
  """Codes every image file at every λ; see `evaluate_images`."""
  return evaluate_images(
    codec,
    [image_files.read_image(path, max_pixels) for path in paths],
    lambdas,
    split,
  )


def evaluate_images(
  codec: codec_lib.Codec,
  images: Sequence[np.ndarray],
  lambdas: Sequence[float],
  split: str = "images",
) -> List[Dict]:
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
      decoded = codec.decompress(codec_file.CompressedImage.from_bytes(data))
      decode_seconds += time.perf_counter() - start
      pixels += coded.num_pixels
      _, estimated = codec.reconstruct(image, lmbda)
      values = _image_values(image, decoded)
      values.update(
        estimated_bpp=estimated,
        rate=estimated,
        actual_bpp=codec_file.bpp(coded, with_header=False),
        file_bpp=codec_file.bpp(coded),
      )
      values["full_loss"] = values["rate"] + lmbda * values["distortion"]
      for key, value in values.items():
        totals[key] = totals.get(key, 0.0) + value
    values = {k: v / len(images) for k, v in totals.items()}
    values["pooled_psnr"] = image_metrics.psnr_of_mse_255(values["distortion"])
    values["encode_megapixels_per_second"] = pixels / 1e6 / encode_seconds
    values["decode_megapixels_per_second"] = pixels / 1e6 / decode_seconds
    rows.append(
      {
        "step": codec.step,
        "split": split,
        "weights": {"distortion": lmbda, "rate": 1.0},
        "values": values,
        "num_examples": len(images),
        "model": "yoto" if codec.is_conditioned else "fixed",
        "module": codec.path,
      }
    )
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
  codec = codec_lib.Codec.load(args.module)
  image = image_files.read_image(args.input, args.max_pixels)
  coded = codec.compress(image, args.lmbda)
  data = coded.to_bytes()
  with open(args.output, "wb") as f:
    f.write(data)
  decoded, _ = codec.reconstruct(image, coded.lmbda)
  return (
    f"{args.output}: {len(data)} bytes, "
    f"{codec_file.bpp(coded):.4f} bpp ({coded.width}x{coded.height}, "
    f"λ={coded.lmbda:g}), PSNR {psnr(image, decoded):.2f} dB"
  )


def _decompress_command(args) -> str:
  codec = codec_lib.Codec.load(args.module)
  try:
    with open(args.input, "rb") as f:
      data = f.read()
  except OSError as e:
    raise codec_file.CodecError(
      f"Cannot read {args.input}: {e.strerror}"
    ) from None
  coded = codec_file.CompressedImage.from_bytes(data, args.input)
  decoded = codec.decompress(coded, args.input, args.max_pixels)
  image_files.write_image(args.output, decoded)
  message = (
    f"{args.output}: {coded.width}x{coded.height}, "
    f"{codec_file.bpp(coded):.4f} bpp, λ={coded.lmbda:g}"
  )
  if args.original:
    original = image_files.read_image(args.original, args.max_pixels)
    if original.shape != decoded.shape:
      raise codec_file.CodecError(
        f"--original {args.original} is {original.shape[1]}x"
        f"{original.shape[0]}, the decoded image {coded.width}x"
        f"{coded.height}."
      )
    message += f", PSNR {psnr(original, decoded):.2f} dB"
  return message


def _evaluate_command(args) -> str:
  codec = codec_lib.Codec.load(args.module)
  paths = sorted(glob.glob(args.images))
  if not paths:
    raise codec_file.CodecError(f"No file matches --images={args.images!r}.")
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
      f"{v['decode_megapixels_per_second']:.2f} MP/s"
    )
  if args.metrics_file:
    lines.append(f"rows appended to {args.metrics_file}")
  return "\n".join(lines)


def _parser() -> arguments.ArgumentParser:
  parser = arguments.ArgumentParser(
    COMMAND, description="Compress images at any rate with one YOTO module."
  )
  commands = parser.add_subparsers(dest="command", required=True)

  def add_module(sub):
    sub.add_argument(
      "--module",
      required=True,
      help="Exported hub module (model_dir/hub_modules/"
      "step-XXXXXXXXX) or a model_dir (uses its newest).",
    )
    sub.add_argument(
      "--max_pixels",
      type=arguments.positive_int,
      default=image_files.DEFAULT_MAX_PIXELS,
      help=image_files.MAX_PIXELS_HELP,
    )

  sub = commands.add_parser("compress", help="Image -> .yoto file.")
  add_module(sub)
  sub.add_argument(
    "--lmbda",
    type=arguments.number,
    default=None,
    help="Rate-distortion weight λ (loss = bpp + λ · MSE on "
    "0-255): larger gives more bits and better quality. "
    "Optional for a fixed-λ module.",
  )
  sub.add_argument(
    "input",
    help="Image to compress (PNG, JPEG, BMP, GIF, "
    "or another format PIL reads).",
  )
  sub.add_argument("output", help="Compressed file to write.")

  sub = commands.add_parser("decompress", help=".yoto file -> PNG.")
  add_module(sub)
  sub.add_argument(
    "--original", default=None, help="The original image, to print the PSNR."
  )
  sub.add_argument("input", help="Compressed file to read.")
  sub.add_argument(
    "output", help="Image file to write (PNG, or the format its suffix names)."
  )

  sub = commands.add_parser(
    "evaluate",
    help="Rate-distortion of a set of images, with real range coding.",
  )
  add_module(sub)
  sub.add_argument(
    "--images", required=True, help="Glob of images, e.g. 'kodak/*.png'."
  )
  sub.add_argument(
    "--lmbda",
    type=arguments.numbers,
    default=None,
    help="Comma-separated λ values (default: a fixed-λ module's own).",
  )
  sub.add_argument(
    "--split", default="images", help="Split name written to the metrics rows."
  )
  sub.add_argument(
    "--metrics_file",
    default=None,
    help="Append the rows to this metrics.jsonl file.",
  )
  return parser


def _execute(args) -> str:
  return {
    "compress": _compress_command,
    "decompress": _decompress_command,
    "evaluate": _evaluate_command,
  }[args.command](args)


def main(argv: Optional[Sequence[str]] = None) -> int:
  """Runs one subcommand; returns the exit status (1 on a user error)."""
  return arguments.run(
    COMMAND,
    _parser(),
    _execute,
    sys.argv[1:] if argv is None else argv,
    base.USER_ERRORS,
  )


if __name__ == "__main__":
  arguments.run_app(COMMAND, _parser, _execute, base.USER_ERRORS)
