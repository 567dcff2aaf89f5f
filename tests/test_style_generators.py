"""The style generators draw images of the requested size from a photo."""

import numpy as np
import pytest

from yoto.utils import style_generators
from yoto.utils import styles


def _photo(size):
  """A smooth colour ramp [size, size, 3] in [0, 1] with an edge."""
  y, x = np.mgrid[0:size, 0:size] / (size - 1)
  photo = np.stack([y, x, 1 - y], axis=-1).astype(np.float32)
  photo[:, size // 2 :] *= 0.3
  return photo


def test_every_generated_style_has_a_generator():
  families = {style.family for style in styles.GENERATED_STYLES}
  assert families == set(style_generators.GENERATORS)


@pytest.mark.parametrize("family", sorted(style_generators.GENERATORS))
@pytest.mark.parametrize("size", [16, 45])
def test_generators_draw_an_rgb_image_in_range_from_the_seed(family, size):
  generator = style_generators.GENERATORS[family]
  draw = lambda seed: generator(
    _photo(size), size, 0.1, np.random.default_rng(seed)
  )
  image = draw(0)
  assert image.shape == (size, size, 3)
  assert 0.0 <= image.min() and image.max() <= 1.0
  assert image.std() > 0.02, f"{family} is flat"
  np.testing.assert_array_equal(image, draw(0))
