"""Tests of the pixel bound on image files (yoto.utils.image_files)."""

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
  with pytest.raises(image_files.ImageTooLargeError,
                     match=r"30000x30000 = 900000000 pixels.*--max_pixels"):
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


def test_stylize_refuses_a_huge_image_before_decoding(huge_png):
  with pytest.raises(stylize.StylizeError, match="--max_pixels"):
    stylize.read_image(huge_png)


def test_stylize_parses_max_pixels():
  args = stylize._parser().parse_args(  # pylint: disable=protected-access
      ["--module=m", "--content=c", "--style=s", "--max_pixels=100",
       "out.png"])
  assert args.max_pixels == 100
