"""`procedural_shapes`: a Shapes3D-like dataset the project draws itself.

The β-VAE reproduction needs fixed-β models that converge on 2 CPU cores, so
that a gap between YOTO and them is a property of the method, not of
undertraining. Photographs do not allow that: a Gaussian decoder keeps
sharpening its variances for hundreds of thousands of steps (the paper trains
600,000). Shapes3D (the paper's second β-VAE dataset) does, but cannot be
downloaded here. This dataset has its kind of structure, a few independent
factors of variation rendered as flat colours, drawn deterministically with
numpy, so every build gives identical data and nothing is downloaded.

Each image is a scene of a wall above a floor with one object standing in
it, rendered at 4x resolution and averaged down (anti-aliased edges). Its
factors, each a small set of values as in Shapes3D:
  wall_hue, floor_hue, object_hue: 10 hues each (full saturation and value);
  shape: square, circle, triangle or diamond;
  scale: 6 object sizes, from 1/4 to 1/2 of the image side;
  x_position: 8 horizontal positions of the object's centre;
  y_position: 4 heights of the object's base on the floor.
That is 10^3 x 4 x 6 x 8 x 4 = 768,000 scenes. The splits are disjoint sets
of scenes drawn without replacement (no scene is in two splits): train
20,000, validation 2,000, test 2,048, so test measures generalisation to
unseen combinations of seen factor values.

Features: `image` (uint8 [size, size, 3]) and `factors` (a dict of the int
factor indices above; the input pipeline keeps only top-level numeric
features, so models see the image alone). Config `procedural_shapes/32` (the
default) and `/64` differ only in image size.
"""

import colorsys
import dataclasses
from typing import Dict, Iterator, Tuple

import numpy as np
import tensorflow_datasets as tfds

from yoto.utils import photo_patches

# Number of values of each factor, in the order of a scene's index vector.
FACTOR_SIZES: Dict[str, int] = {
  "wall_hue": 10,
  "floor_hue": 10,
  "object_hue": 10,
  "shape": 4,
  "scale": 6,
  "x_position": 8,
  "y_position": 4,
}
SHAPES: Tuple[str, ...] = ("square", "circle", "triangle", "diamond")
SPLIT_SIZES: Dict[str, int] = {
  "train": 20_000,
  "validation": 2_000,
  "test": 2_048,
}
# Rendering resolution relative to the stored image (anti-aliasing).
SUPERSAMPLING = 4
# Rows above this fraction of the height are wall, below it floor.
HORIZON = 0.45
_SEED = 20200426


def hue_to_rgb(index: int, count: int) -> np.ndarray:
  """The colour of hue `index` of `count` evenly spaced ones, RGB in [0, 1]."""
  return np.array(colorsys.hsv_to_rgb(index / count, 1.0, 1.0))


def _shape_mask(shape: str, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
  """Which points, at offsets (dx, dy) from the centre in units of the
  object's half size (dy grows downwards), lie inside `shape`."""
  if shape == "square":
    return (np.abs(dx) <= 1) & (np.abs(dy) <= 1)
  if shape == "circle":
    return dx**2 + dy**2 <= 1
  if shape == "triangle":  # Apex up, base at dy = 1.
    return (dy <= 1) & (np.abs(dx) <= (dy + 1) / 2)
  if shape == "diamond":
    return np.abs(dx) + np.abs(dy) <= 1
  raise ValueError(f"Unknown shape {shape!r}; known: {', '.join(SHAPES)}.")


def render(factors: Dict[str, int], size: int) -> np.ndarray:
  """The scene of `factors` (indices as in FACTOR_SIZES) as uint8
  [size, size, 3]."""
  big = size * SUPERSAMPLING
  rows, cols = np.mgrid[0:big, 0:big] / big + 0.5 / big  # Pixel centres.
  image = np.where(
    (rows < HORIZON)[..., None],
    hue_to_rgb(factors["wall_hue"], FACTOR_SIZES["wall_hue"]),
    # The floor darker than the wall, so that equal hues stay apart.
    0.6 * hue_to_rgb(factors["floor_hue"], FACTOR_SIZES["floor_hue"]),
  )
  half = (0.25 + 0.25 * factors["scale"] / (FACTOR_SIZES["scale"] - 1)) / 2
  centre_x = 0.25 + 0.5 * factors["x_position"] / (
    FACTOR_SIZES["x_position"] - 1
  )
  base_y = 0.6 + 0.35 * factors["y_position"] / (FACTOR_SIZES["y_position"] - 1)
  mask = _shape_mask(
    SHAPES[factors["shape"]],
    (cols - centre_x) / half,
    (rows - (base_y - half)) / half,
  )
  image = np.where(
    mask[..., None],
    hue_to_rgb(factors["object_hue"], FACTOR_SIZES["object_hue"]),
    image,
  )
  image = image.reshape(size, SUPERSAMPLING, size, SUPERSAMPLING, 3)
  return np.round(255 * image.mean(axis=(1, 3))).astype(np.uint8)


def split_scenes() -> Dict[str, np.ndarray]:
  """{split: int [n, 7] factor indices}: disjoint scenes per split, drawn
  without replacement by a fixed-seed numpy Generator."""
  sizes = list(FACTOR_SIZES.values())
  total = sum(SPLIT_SIZES.values())
  flat = np.random.default_rng(_SEED).choice(
    int(np.prod(sizes)), total, replace=False
  )
  scenes = np.stack(np.unravel_index(flat, sizes), axis=-1)
  splits, start = {}, 0
  for split, count in SPLIT_SIZES.items():
    splits[split] = scenes[start : start + count]
    start += count
  return splits


@dataclasses.dataclass(eq=False)
class ProceduralShapesConfig(tfds.core.BuilderConfig):
  """Image size of one `procedural_shapes` variant."""

  image_size: int = 32


class ProceduralShapes(tfds.core.GeneratorBasedBuilder):
  """Anti-aliased scenes of one object on a wall and floor (see module)."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = [
    ProceduralShapesConfig(
      name=str(size), image_size=size, description=f"{size}x{size} images."
    )
    for size in (32, 64)
  ]

  def _info(self) -> tfds.core.DatasetInfo:
    size = self.builder_config.image_size
    return self.dataset_info_from_configs(
      description=(
        "Procedurally drawn scenes with seven discrete factors "
        "of variation, like Shapes3D; disjoint scenes per "
        "split."
      ),
      features=tfds.features.FeaturesDict(
        {
          "image": tfds.features.Image(
            shape=(size, size, 3), encoding_format="png"
          ),
          "factors": tfds.features.FeaturesDict(
            {name: np.int64 for name in FACTOR_SIZES}
          ),
        }
      ),
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # Nothing to download.
    return {
      split: self._generate_examples(scenes)
      for split, scenes in split_scenes().items()
    }

  def _generate_examples(
    self, scenes: np.ndarray
  ) -> Iterator[Tuple[str, Dict[str, object]]]:
    size = self.builder_config.image_size
    for index, scene in enumerate(scenes):
      factors = dict(zip(FACTOR_SIZES, (int(v) for v in scene)))
      yield (
        f"{index:06d}",
        {
          "image": photo_patches.encode_png(render(factors, size)),
          "factors": factors,
        },
      )
