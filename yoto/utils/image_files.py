"""A pixel bound for image files, checked from the header before decoding.

A 30000 x 30000 PNG is a few megabytes on disk and 2.7 GB decoded (much more
once a network runs on it), so the command lines (`yoto.compress`,
`yoto.stylize`) read an image's size from its header and refuse one larger
than `--max_pixels` before any pixel is decoded, like PIL's
`MAX_IMAGE_PIXELS`. The same bound limits the size a `.yoto` file may
announce (see `yoto.compress`).
"""

from typing import Tuple

# 4096 x 4096 (16.8 megapixels). Coding an image needs roughly 200 bytes per
# pixel with 192 filters (the largest activations are H/2 x W/2 x 192 floats),
# so this bound keeps a decode under about 3.5 GB.
DEFAULT_MAX_PIXELS = 4096 * 4096

MAX_PIXELS_HELP = (
    "Refuse images (and compressed files announcing images) of more pixels "
    f"than this (default {DEFAULT_MAX_PIXELS}, 4096x4096); raise it for big "
    "images on a machine with the memory for them.")


class ImageTooLargeError(ValueError):
  """An image (or a file announcing one) exceeds the pixel bound."""


def check_pixels(height: int, width: int, max_pixels: int,
                 name: str = "the image") -> None:
  """Raises ImageTooLargeError if height x width exceeds `max_pixels`."""
  if height * width > max_pixels:
    raise ImageTooLargeError(
        f"{name} is {width}x{height} = {height * width} pixels, more than "
        f"the limit of {max_pixels}; pass --max_pixels={height * width} (or "
        "more) if this machine has the memory for it.")


def header_size(path: str) -> Tuple[int, int]:
  """(height, width) of an image file, read from its header only.

  Raises:
    OSError: if the file is missing or not an image PIL recognises.
  """
  import PIL.Image  # pylint: disable=g-import-not-at-top
  # PIL refuses more than twice its own MAX_IMAGE_PIXELS in open(); the bound
  # here is --max_pixels, so PIL's is lifted for the header read.
  pil_bound = PIL.Image.MAX_IMAGE_PIXELS
  PIL.Image.MAX_IMAGE_PIXELS = None
  try:
    with PIL.Image.open(path) as image:  # Reads the header, not the pixels.
      width, height = image.size
  finally:
    PIL.Image.MAX_IMAGE_PIXELS = pil_bound
  return height, width


def check_file(path: str, max_pixels: int) -> None:
  """Refuses an image file larger than `max_pixels` without decoding it.

  Files PIL cannot identify are let through: the decoder that follows gives
  its own error for them.
  """
  try:
    height, width = header_size(path)
  except (OSError, ValueError, SyntaxError):
    return
  check_pixels(height, width, max_pixels, path)
