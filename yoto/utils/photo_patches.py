"""`photo_patches`: the embedded default dataset, built offline.

A fresh machine without internet cannot download CIFAR-10 or Shapes3D, yet the
README's main command has to run. This TFDS dataset provides real-photo
training data that needs no download: random square crops of photographs that
installed wheels bundle (`skimage.data`, and matplotlib's sample data).

Splits are by photograph, never by crop, and no photograph is in two splits,
so validation and test both measure generalisation to unseen photos:
  train:      crops of astronaut, coffee, hubble_deep_field, ihc
              (`skimage.data.immunohistochemistry()`), motorcycle_left
              (`skimage.data.stereo_motorcycle()[0]`) and retina;
  validation: crops of chelsea;
  test:       crops of rocket (`skimage.data.rocket()`) and grace_hopper
              (matplotlib's `sample_data/grace_hopper.jpg`), the same number
              from each.
Version 2.0.0 (the default) has this layout. Version 1.1.0 used chelsea for
both test and validation (different crops); data of it already prepared stays
readable (`photo_patches/32:1.1.0`), but TFDS generates only the default
version. Not used anywhere: `skimage.data.cat()` (it is chelsea) and
`stereo_motorcycle()[1]` (the same scene as a training photo).

Features: `image` (uint8 [size, size, 3]) and `source` (the photo's name, a
string). Configs `photo_patches/32` (default, for the VAE), `/64` and `/128`
differ in crop size and count (`BUILDER_CONFIGS`); `/32` has 2,000 crops of
each training photo (12,000), 2,000 of chelsea and 1,024 of each test photo
(2,048). Crop positions are drawn uniformly without replacement by a numpy
Generator seeded by (photo name, crop size), so every build gives identical
data; flat crops (pixel standard deviation below `MIN_CROP_STD`, e.g. retina's
black border, about 17 % of its positions) are skipped and replaced by further
draws. TFDS stores every split in an order shuffled by example key, so the
first batches of `test` already mix both photos.

Importing this module registers the builder with TFDS and switches off TFDS's
access to its GCS bucket: a builder whose data is not prepared otherwise asks
`gs://tfds-data` for metadata, which without network costs seconds (or, where
DNS or connections hang, much longer) and can never succeed here.
"""

import dataclasses
import io
import zlib
from typing import Dict, Iterator, Tuple

import numpy as np
import tensorflow_datasets as tfds
from tensorflow_datasets.core.utils import gcs_utils

# Names of the source photographs (`source` feature), by split.
TRAIN_SOURCES: Tuple[str, ...] = (
  "astronaut",
  "coffee",
  "hubble_deep_field",
  "ihc",
  "motorcycle_left",
  "retina",
)
VALIDATION_SOURCES: Tuple[str, ...] = ("chelsea",)
TEST_SOURCES: Tuple[str, ...] = ("rocket", "grace_hopper")
# Every photo `load_photo` knows, each in exactly one split.
SOURCES: Tuple[str, ...] = TRAIN_SOURCES + VALIDATION_SOURCES + TEST_SOURCES

# Base of the per-(photo, config) seeds; changing it changes the dataset.
_SEED = 20200426
# Crops with a lower pixel standard deviation (in uint8 levels) are skipped.
MIN_CROP_STD = 4.0


def disable_tfds_gcs() -> None:
  """Stops TFDS from contacting gs://tfds-data (metadata and prepared data).

  TFDS 4.9.4 checks `gcs_utils._is_gcs_disabled` before every bucket access
  (`DatasetInfo.initialize_from_bucket` in the builder constructor, and
  `download_and_prepare`'s attempt to copy prepared data). There is no public
  switch, hence the private flag.
  """
  gcs_utils._is_gcs_disabled = True  # pylint: disable=protected-access


disable_tfds_gcs()


def _matplotlib_sample(file_name: str) -> np.ndarray:
  """A photo of matplotlib's bundled sample data, uint8 [h, w, 3]."""
  import matplotlib.cbook  # pylint: disable=g-import-not-at-top  # Only to build.
  import PIL.Image  # pylint: disable=g-import-not-at-top

  with PIL.Image.open(
    matplotlib.cbook.get_sample_data(file_name, asfileobj=False)
  ) as image:
    return np.asarray(image.convert("RGB"))


def load_photo(name: str) -> np.ndarray:
  """Returns the bundled photo `name` (one of `SOURCES`) as uint8 [h, w, 3].

  Raises:
    KeyError: for a name that is not in `SOURCES`.
  """
  import skimage.data  # pylint: disable=g-import-not-at-top  # Only to build.

  loaders = {
    "astronaut": skimage.data.astronaut,
    "chelsea": skimage.data.chelsea,
    "coffee": skimage.data.coffee,
    "grace_hopper": lambda: _matplotlib_sample("grace_hopper.jpg"),
    "hubble_deep_field": skimage.data.hubble_deep_field,
    "ihc": skimage.data.immunohistochemistry,
    "motorcycle_left": lambda: skimage.data.stereo_motorcycle()[0],
    "retina": skimage.data.retina,
    "rocket": skimage.data.rocket,
  }
  if name not in loaders:
    raise KeyError(
      f"Unknown photo {name!r}; the bundled photos are {', '.join(SOURCES)}."
    )
  photo = np.asarray(loaders[name]())
  if photo.dtype != np.uint8 or photo.ndim != 3 or photo.shape[-1] < 3:
    raise ValueError(
      f"Photo {name} has unexpected shape {photo.shape} and "
      f"dtype {photo.dtype}."
    )
  return photo[..., :3]


def random_crops(
  photo: np.ndarray, crop_size: int, num_crops: int, seed: int
) -> Iterator[np.ndarray]:
  """Yields `num_crops` distinct random crops [crop_size, crop_size, 3].

  Positions are visited in a random order without replacement, and crops with
  a pixel standard deviation below `MIN_CROP_STD` (flat areas such as the
  black border of retina) are skipped.
  """
  height, width = photo.shape[:2]
  num_x = width - crop_size + 1
  num_positions = (height - crop_size + 1) * num_x
  rng = np.random.default_rng(seed)
  found = 0
  for position in rng.permutation(num_positions):
    y, x = divmod(int(position), num_x)
    crop = photo[y : y + crop_size, x : x + crop_size]
    if crop.std() >= MIN_CROP_STD:
      yield crop
      found += 1
      if found == num_crops:
        return
  raise ValueError(
    f"Only {found} of {num_crops} {crop_size}x{crop_size} "
    f"crops of a {height}x{width} photo are not flat."
  )


def crop_seed(source: str, crop_size: int) -> int:
  """The fixed seed of the crops of `source` at `crop_size`."""
  return _SEED + 1_000_003 * zlib.crc32(source.encode()) + crop_size


def encode_png(image: np.ndarray) -> bytes:
  """Returns uint8 [h, w, 3] `image` as PNG bytes.

  Handing TFDS encoded bytes skips its own encoder, which runs one eager
  TensorFlow op per image and made the whole build about 1.5x slower.
  """
  import PIL.Image  # pylint: disable=g-import-not-at-top  # Only to build.

  buffer = io.BytesIO()
  PIL.Image.fromarray(image, mode="RGB").save(buffer, format="PNG")
  return buffer.getvalue()


@dataclasses.dataclass(eq=False)
class PhotoPatchesConfig(tfds.core.BuilderConfig):
  """Crop size and counts of one `photo_patches` variant.

  Attributes:
    crop_size: side of the square crops, in pixels.
    crops_per_train_photo: crops of each of `TRAIN_SOURCES`.
    crops_per_test_photo: crops of each of `TEST_SOURCES` (version 2.0.0).
    validation_crops: crops of chelsea in `validation` (and, in version
      1.1.0, in `test`).
  """

  crop_size: int = 32
  crops_per_train_photo: int = 2000
  crops_per_test_photo: int = 1024
  validation_crops: int = 2000


def _config(
  crop_size: int,
  crops_per_train_photo: int,
  crops_per_test_photo: int,
  validation_crops: int,
) -> PhotoPatchesConfig:
  return PhotoPatchesConfig(
    name=str(crop_size),
    description=(
      f"{crop_size}x{crop_size} crops: {crops_per_train_photo} per "
      f"training photo, {validation_crops} of the validation photo, "
      f"{crops_per_test_photo} per test photo."
    ),
    crop_size=crop_size,
    crops_per_train_photo=crops_per_train_photo,
    crops_per_test_photo=crops_per_test_photo,
    validation_crops=validation_crops,
  )


# One split's recipe: the photos, the crops per photo and the seed salt.
_SplitRecipe = Tuple[Tuple[str, ...], int, str]


def split_recipes(
  version: str, config: PhotoPatchesConfig
) -> Dict[str, _SplitRecipe]:
  """What each split of `version` holds: {split: (photos, crops each, salt)}.

  The salt is appended to the photo's name in `crop_seed`, so two splits of
  one photo (1.1.0's test and validation) get different crops.
  """
  recipes = {
    "train": (TRAIN_SOURCES, config.crops_per_train_photo, ""),
    "validation": (VALIDATION_SOURCES, config.validation_crops, "validation"),
  }
  if str(version) == "1.1.0":
    recipes["test"] = (VALIDATION_SOURCES, config.validation_crops, "")
  elif str(version) == "2.0.0":
    recipes["test"] = (TEST_SOURCES, config.crops_per_test_photo, "")
  else:
    raise ValueError(
      f"photo_patches has no version {version}; known: "
      f"{', '.join(PhotoPatches.RELEASE_NOTES)}."
    )
  return recipes


class PhotoPatches(tfds.core.GeneratorBasedBuilder):
  """Random crops of photographs bundled with installed wheels, by photo."""

  VERSION = tfds.core.Version("2.0.0")
  # Readable when prepared (TFDS only generates VERSION).
  SUPPORTED_VERSIONS = [tfds.core.Version("1.1.0")]
  RELEASE_NOTES = {
    "1.0.0": "Initial release.",
    "1.1.0": "A validation split of held-out chelsea crops.",
    "2.0.0": (
      "Test split from two other held-out photos, rocket and "
      "grace_hopper (2,048 crops in /32); validation keeps chelsea, "
      "so no photo is in two splits."
    ),
  }
  BUILDER_CONFIGS = [
    _config(
      32,
      crops_per_train_photo=2000,
      crops_per_test_photo=1024,
      validation_crops=2000,
    ),
    _config(
      64,
      crops_per_train_photo=500,
      crops_per_test_photo=256,
      validation_crops=500,
    ),
    _config(
      128,
      crops_per_train_photo=200,
      crops_per_test_photo=100,
      validation_crops=200,
    ),
  ]

  def _info(self) -> tfds.core.DatasetInfo:
    size = self.builder_config.crop_size
    return self.dataset_info_from_configs(
      description=(
        "Random crops of photographs bundled with scikit-image "
        "and matplotlib; train, validation and test crops come "
        "from different photos."
      ),
      features=tfds.features.FeaturesDict(
        {
          "image": tfds.features.Image(
            shape=(size, size, 3), encoding_format="png"
          ),
          "source": tfds.features.Text(),
        }
      ),
      homepage="https://scikit-image.org/docs/stable/api/skimage.data.html",
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # Everything is in the installed wheels.
    return {
      split: self._generate_examples(sources, crops_per_photo, salt)
      for split, (sources, crops_per_photo, salt) in split_recipes(
        self.version, self.builder_config
      ).items()
    }

  def _generate_examples(
    self, sources: Tuple[str, ...], crops_per_photo: int, seed_salt: str = ""
  ) -> Iterator[Tuple[str, Dict[str, object]]]:
    crop_size = self.builder_config.crop_size
    for source in sources:
      crops = random_crops(
        load_photo(source),
        crop_size,
        crops_per_photo,
        crop_seed(source + seed_salt, crop_size),
      )
      for index, crop in enumerate(crops):
        yield (
          f"{source}_{index:05d}",
          {
            "image": encode_png(crop),
            "source": source,
          },
        )
