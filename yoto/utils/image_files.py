"""Image files: the package's one reader and one writer, and a pixel bound.

`read_image` reads any format PIL knows (PNG, JPEG, BMP, GIF, TIFF, WebP,
...) as uint8 RGB pixels [H, W, 3], and `write_image` writes pixels as PNG
(or as the format the path's suffix names); the command lines
(`yoto.compress`, `yoto.stylize`) and the notebooks read and write images
only through them, so an image means the same thing everywhere. Their
errors are `ImageFileError`s with one-line messages.

A 30000 x 30000 PNG is a few megabytes on disk and 2.7 GB decoded (much more
once a network runs on it), so `read_image` reads an image's size from its
header and refuses one larger than `--max_pixels` before any pixel is
decoded, like PIL's `MAX_IMAGE_PIXELS`. The same bound limits the size a
`.yoto` file may announce (see `yoto.clients.codec`).
"""

import contextlib
import io
import os
from typing import Iterator, Optional, Tuple

import numpy as np

# 4096 x 4096 (16.8 megapixels). Coding an image needs roughly 200 bytes per
# pixel with 192 filters (the largest activations are H/2 x W/2 x 192 floats),
# so this bound keeps a decode under about 3.5 GB.
DEFAULT_MAX_PIXELS = 4096 * 4096

MAX_PIXELS_HELP = (
  "Refuse images (and compressed files announcing images) of more pixels "
  f"than this (default {DEFAULT_MAX_PIXELS}, 4096x4096); raise it for big "
  "images on a machine with the memory for them."
)


class ImageFileError(ValueError):
  """An image file that cannot be read or written; the message says why."""


class ImageTooLargeError(ImageFileError):
  """An image (or a file announcing one) exceeds the pixel bound."""


def check_pixels(
  height: int, width: int, max_pixels: int, name: str = "the image"
) -> None:
  """Raises ImageTooLargeError if height x width exceeds `max_pixels`."""
  if height * width > max_pixels:
    raise ImageTooLargeError(
      f"{name} is {width}x{height} = {height * width} pixels, more than "
      f"the limit of {max_pixels}; pass --max_pixels={height * width} (or "
      "more) if this machine has the memory for it."
    )


@contextlib.contextmanager
def _pil_bound_lifted() -> Iterator[None]:
  """PIL without its own pixel bound, restored on exit.

  PIL refuses more than twice its MAX_IMAGE_PIXELS in `open()`; yoto's bound
  is `--max_pixels`, checked before decoding, so PIL's is lifted meanwhile.
  """
  import PIL.Image  # pylint: disable=g-import-not-at-top

  pil_bound = PIL.Image.MAX_IMAGE_PIXELS
  PIL.Image.MAX_IMAGE_PIXELS = None
  try:
    yield
  finally:
    PIL.Image.MAX_IMAGE_PIXELS = pil_bound


def header_size(path: str) -> Tuple[int, int]:
  """(height, width) of an image file, read from its header only.

  Raises:
    OSError: if the file is missing or not an image PIL recognises.
  """
  import PIL.Image  # pylint: disable=g-import-not-at-top

  with _pil_bound_lifted(), PIL.Image.open(path) as image:  # Header only.
    width, height = image.size
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


def read_image(
  path: str,
  max_pixels: int = DEFAULT_MAX_PIXELS,
  max_size: Optional[int] = None,
) -> np.ndarray:
  """An image file as uint8 RGB pixels [H, W, 3].

  Alpha is dropped, grey is repeated over the channels, 16-bit samples keep
  their high byte, and an animation gives its first frame.

  Args:
    path: the file.
    max_pixels: refuse images of more pixels, from the header.
    max_size: when given, an image whose longer side exceeds it is shrunk
      (Lanczos, aspect kept) to that longer side.

  Raises:
    ImageFileError: if the file is missing or not a readable image;
      ImageTooLargeError if it has more than `max_pixels` pixels.
  """
  import PIL.Image  # pylint: disable=g-import-not-at-top

  if not os.path.isfile(path):
    raise ImageFileError(f"Image {path} does not exist.")
  check_file(path, max_pixels)
  try:
    with _pil_bound_lifted(), PIL.Image.open(path) as image:
      if image.mode.startswith("I;16"):  # PIL's RGB would clip, not scale.
        grey = (np.asarray(image, np.uint16) >> 8).astype(np.uint8)
        image = PIL.Image.fromarray(grey)
      image = image.convert("RGB")
      if max_size and max(image.size) > max_size:
        scale = max_size / max(image.size)
        image = image.resize(
          (
            max(1, round(image.size[0] * scale)),
            max(1, round(image.size[1] * scale)),
          ),
          PIL.Image.LANCZOS,
        )
      return np.asarray(image, np.uint8)
  except (OSError, ValueError, SyntaxError) as e:
    raise ImageFileError(
      f"{path} is not a readable image (PNG, JPEG, BMP, GIF or another "
      f"format PIL reads): {e}"
    ) from None


def as_uint8(image: np.ndarray) -> np.ndarray:
  """Pixels as uint8: uint8 unchanged, floats in [0, 1] rounded (clipped)."""
  image = np.asarray(image)
  if image.dtype == np.uint8:
    return image
  return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def _picture(image: np.ndarray, scale: int = 1):
  """A PIL image of uint8 or [0, 1] float pixels [H, W, 3], enlarged
  `scale` times (nearest neighbour)."""
  import PIL.Image  # pylint: disable=g-import-not-at-top

  picture = PIL.Image.fromarray(as_uint8(image))
  if scale > 1:
    picture = picture.resize(
      (picture.width * scale, picture.height * scale), PIL.Image.NEAREST
    )
  return picture


def png_bytes(image: np.ndarray, scale: int = 1) -> bytes:
  """uint8 or [0, 1] float pixels [H, W, 3] as PNG bytes (for a notebook's
  `IPython.display.Image`), optionally enlarged `scale` times."""
  buffer = io.BytesIO()
  _picture(image, scale).save(buffer, format="PNG")
  return buffer.getvalue()


def write_image(path: str, image: np.ndarray) -> None:
  """Writes uint8 or [0, 1] float pixels [H, W, 3], creating folders.

  The format is the one the path's suffix names (`.jpg`: JPEG), PNG for
  `.png` and for a suffix PIL does not know.

  Raises:
    ImageFileError: if the file cannot be written.
  """
  import PIL.Image  # pylint: disable=g-import-not-at-top

  suffix = os.path.splitext(path)[1].lower()
  image_format = PIL.Image.registered_extensions().get(suffix, "PNG")
  try:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    _picture(image).save(path, format=image_format)
  except (OSError, ValueError, KeyError) as e:
    raise ImageFileError(f"Could not write {path}: {e}") from None


def centre_square(image: np.ndarray, size: int) -> np.ndarray:
  """Centre-crops pixels [H, W, >=3] to a square and resizes it (bicubic):
  float32 [size, size, 3] in [0, 1]."""
  import PIL.Image  # pylint: disable=g-import-not-at-top

  height, width = image.shape[:2]
  side = min(height, width)
  top, left = (height - side) // 2, (width - side) // 2
  crop = np.ascontiguousarray(image[top : top + side, left : left + side, :3])
  resized = PIL.Image.fromarray(as_uint8(crop)).resize(
    (size, size), PIL.Image.BICUBIC
  )
  return np.asarray(resized, np.float32) / 255.0
