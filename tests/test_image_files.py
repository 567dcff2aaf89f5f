"""Tests of yoto.utils.image_files: the one image reader and writer, and the
pixel bound checked from the header."""

import io
import time

import image_headers
import numpy as np
import PIL.Image
import pytest

from yoto import stylize
from yoto.utils import image_files


@pytest.fixture
def huge_png(tmp_path):
  path = tmp_path / "huge.png"
  path.write_bytes(image_headers.png_header(30000, 30000))
  return str(path)


def test_header_size_reads_the_size_without_decoding(huge_png):
  start = time.perf_counter()
  assert image_files.header_size(huge_png) == (30000, 30000)
  assert time.perf_counter() - start < 2.0


def test_header_size_of_a_real_image(tmp_path):
  path = str(tmp_path / "small.png")
  PIL.Image.fromarray(np.zeros((5, 7, 3), np.uint8)).save(path)
  assert image_files.header_size(path) == (5, 7)


def test_check_file_refuses_more_than_max_pixels(huge_png):
  with pytest.raises(
    image_files.ImageTooLargeError,
    match=r"30000x30000 = 900000000 pixels.*--max_pixels",
  ):
    image_files.check_file(huge_png, image_files.DEFAULT_MAX_PIXELS)
  image_files.check_file(huge_png, 30000 * 30000)  # At the bound: accepted.


def test_check_file_leaves_non_images_to_the_decoder(tmp_path):
  path = tmp_path / "notes.png"
  path.write_text("not an image")
  image_files.check_file(str(path), 1)


def test_pil_bound_is_restored_after_a_header_read(huge_png):
  before = PIL.Image.MAX_IMAGE_PIXELS
  image_files.header_size(huge_png)
  assert PIL.Image.MAX_IMAGE_PIXELS == before


def test_read_image_refuses_a_huge_image_before_decoding(huge_png):
  start = time.perf_counter()
  with pytest.raises(image_files.ImageTooLargeError, match="--max_pixels"):
    image_files.read_image(huge_png)
  assert time.perf_counter() - start < 2.0


def test_stylize_parses_max_pixels():
  args = stylize._parser().parse_args(  # pylint: disable=protected-access
    ["--module=m", "--content=c", "--style=s", "--max_pixels=100", "out.png"]
  )
  assert args.max_pixels == 100


def _saved(tmp_path, array, name="image.png"):
  path = str(tmp_path / name)
  PIL.Image.fromarray(array).save(path)
  return path


def test_read_image_gives_uint8_rgb_of_any_layout(tmp_path):
  rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), np.uint8)
  np.testing.assert_array_equal(
    image_files.read_image(_saved(tmp_path, rgb)), rgb
  )
  rgba = np.concatenate([rgb, np.zeros((5, 7, 1), np.uint8)], axis=-1)
  np.testing.assert_array_equal(
    image_files.read_image(_saved(tmp_path, rgba, "alpha.png")), rgb
  )
  grey = rgb[..., 0]
  np.testing.assert_array_equal(
    image_files.read_image(_saved(tmp_path, grey, "grey.png")),
    np.stack([grey] * 3, axis=-1),
  )


def test_sixteen_bit_grey_keeps_its_high_byte_not_clipped(tmp_path):
  deep = np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000
  pixels = image_files.read_image(_saved(tmp_path, deep, "deep.png"))
  np.testing.assert_array_equal(pixels[..., 1], (deep >> 8).astype(np.uint8))


def test_max_size_shrinks_the_longer_side_keeping_the_aspect(tmp_path):
  path = _saved(tmp_path, np.zeros((40, 100, 3), np.uint8))
  assert image_files.read_image(path, max_size=50).shape == (20, 50, 3)
  assert image_files.read_image(path, max_size=500).shape == (40, 100, 3)


@pytest.mark.parametrize(
  "content, message",
  [(None, "does not exist"), (b"not an image", "is not a readable image")],
)
def test_unreadable_files_are_one_line_errors(tmp_path, content, message):
  path = tmp_path / "bad.png"
  if content is not None:
    path.write_bytes(content)
  with pytest.raises(image_files.ImageFileError, match=message) as error:
    image_files.read_image(str(path))
  assert "\n" not in str(error.value)


def test_write_image_round_trips_uint8_and_rounds_floats(tmp_path):
  pixels = np.random.default_rng(1).integers(0, 256, (6, 4, 3), np.uint8)
  path = str(tmp_path / "new" / "folder" / "out.png")
  image_files.write_image(path, pixels)
  np.testing.assert_array_equal(image_files.read_image(path), pixels)
  image_files.write_image(path, pixels / 255.0 + 0.4 / 255.0)
  np.testing.assert_array_equal(image_files.read_image(path), pixels)


def test_write_image_takes_the_format_from_the_suffix(tmp_path):
  for name, image_format in [
    ("a.jpg", "JPEG"),
    ("a.png", "PNG"),
    ("a.unknown", "PNG"),
  ]:
    path = str(tmp_path / name)
    image_files.write_image(path, np.zeros((4, 4, 3), np.uint8))
    with PIL.Image.open(path) as image:
      assert image.format == image_format


def test_write_image_failure_is_an_image_file_error(tmp_path):
  (tmp_path / "file").write_text("")
  with pytest.raises(image_files.ImageFileError, match="Could not write"):
    image_files.write_image(
      str(tmp_path / "file" / "x.png"), np.zeros((4, 4, 3), np.uint8)
    )


def test_png_bytes_enlarges_by_whole_pixels():
  pixels = np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8)
  with PIL.Image.open(io.BytesIO(image_files.png_bytes(pixels, 3))) as image:
    enlarged = np.asarray(image)
  assert enlarged.shape == (3, 6, 3)
  np.testing.assert_array_equal(enlarged[:, :3], 0)
  np.testing.assert_array_equal(enlarged[:, 3:], 255)


def test_centre_square_crops_the_middle_and_resizes():
  image = np.zeros((10, 30, 3), np.uint8)
  image[:, 10:20] = 255  # The middle square is white, the sides black.
  square = image_files.centre_square(image, 5)
  assert square.shape == (5, 5, 3) and square.dtype == np.float32
  np.testing.assert_allclose(square, 1.0)
