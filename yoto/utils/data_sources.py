"""Where examples come from: the splits of TFDS datasets and of image files.

Splits follow the original YOTO code (`DatasetSplit`): the validation split
is the first `validation_percent` percent of `train`, the training split the
rest. `load_examples` gives one split's decoded examples, sharded for one
input pipeline; `yoto.utils.data` batches and preprocesses them.

Image files: a dataset name 'glob:PATTERN' (e.g. 'glob:/data/photos/*.jpg')
reads the JPEG, PNG, GIF or BMP files matching PATTERN as {'image': uint8
[H, W, 3]} of each file's own size, so the preprocessing must make them one
size (`resize(...)`, `random_crop(...)` or `central_crop(...)`). Files, not
images, are split: the sorted file list is permuted with a fixed seed, every
tenth file (at least one) is `test`, and of the rest (`train_full`) the first
`validation_percent` percent (at least one) is `valid`, the others `train`.
The split depends only on the set of files.

Offline behaviour: the embedded default `photo_patches` and the procedural
`procedural_shapes` (any config, e.g. `photo_patches/64`) are built on first
use; every other dataset must already be
prepared in `data_dir`, otherwise `DatasetNotAvailableError` says how to
prepare it. Nothing here downloads: importing this module switches off TFDS's
GCS bucket access (see `photo_patches.disable_tfds_gcs`).

"Not prepared" is detected by calling `builder.as_dataset` and translating its
error, not with `builder.is_prepared()`, so that `tfds.testing.mock_data`
(which fakes `as_dataset` and leaves no files anywhere) keeps working.
"""

import enum
import math
from typing import Dict, List, Optional, Union

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from yoto.utils import image_files
from yoto.utils import photo_patches

# Imported for its side effect: registers the builder with TFDS.
from yoto.utils import procedural_shapes  # noqa: F401  pylint: disable=unused-import

photo_patches.disable_tfds_gcs()

EMBEDDED_DATASET = "photo_patches"
# Datasets built offline on first use (their builders ship with the package),
# each with a `validation` split of its own.
BUILT_OFFLINE = (EMBEDDED_DATASET, "procedural_shapes")
GLOB_PREFIX = "glob:"
# Share of the files of a 'glob:' dataset that make up its test split.
GLOB_TEST_PERCENT = 10
# Seed of the permutation that splits the files of a 'glob:' dataset.
_GLOB_SPLIT_SEED = 20200426
# Leading bytes of the formats tf.io.decode_image reads.
_IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM")


class DatasetNotAvailableError(ValueError):
  """A dataset is not prepared in the data_dir and cannot be built offline."""


class DatasetSplit(enum.Enum):
  """The four splits of the original code; see `tfds_split`."""

  TRAIN = "train"  # train[p%:]
  VALID = "valid"  # train[:p%]
  TRAIN_FULL = "train_full"  # train
  TEST = "test"  # test

  def tfds_split(self, validation_percent: int = 20) -> str:
    """Returns the TFDS split string, with `validation_percent` p in [1, 99]."""
    if self in (DatasetSplit.TRAIN, DatasetSplit.VALID):
      if (
        isinstance(validation_percent, bool)
        or not isinstance(validation_percent, int)
        or not 0 < validation_percent < 100
      ):
        raise ValueError(
          "validation_percent must be an int in [1, 99], got "
          f"{validation_percent!r}."
        )
    return {
      DatasetSplit.TRAIN: f"train[{validation_percent}%:]",
      DatasetSplit.VALID: f"train[:{validation_percent}%]",
      DatasetSplit.TRAIN_FULL: "train",
      DatasetSplit.TEST: "test",
    }[self]


def _is_embedded(dataset_name: str) -> bool:
  """Whether `dataset_name` is one of `BUILT_OFFLINE`."""
  return dataset_name.split("/")[0].split(":")[0] in BUILT_OFFLINE


def is_glob(dataset_name: str) -> bool:
  """Whether `dataset_name` names image files ('glob:PATTERN')."""
  return dataset_name.startswith(GLOB_PREFIX)


def glob_split_files(
  pattern: str, split: Union[DatasetSplit, str], validation_percent: int = 20
) -> List[str]:
  """The files of one split of a 'glob:' dataset (see the module docstring).

  Args:
    pattern: a glob, e.g. '/data/photos/*.jpg' (without 'glob:').
    split: a DatasetSplit or its value.
    validation_percent: p of the VALID and TRAIN splits, in [1, 99].

  Returns:
    The split's file paths, in the order of the fixed permutation.

  Raises:
    ValueError: if nothing matches `pattern` or the split has no files.
  """
  split = DatasetSplit(split)
  split.tfds_split(validation_percent)  # Validates validation_percent.
  files = sorted(
    f for f in tf.io.gfile.glob(pattern) if not tf.io.gfile.isdir(f)
  )
  if not files:
    raise ValueError(
      f"No files match the content image glob {pattern!r} "
      f"(dataset name {GLOB_PREFIX}{pattern!r})."
    )
  order = np.random.default_rng(_GLOB_SPLIT_SEED).permutation(len(files))
  files = [files[i] for i in order]
  num_test = max(1, len(files) * GLOB_TEST_PERCENT // 100)
  num_test = min(num_test, len(files) - 1)  # A single file is for training.
  cut = len(files) - num_test
  train_full, test = files[:cut], files[cut:]
  num_valid = min(
    max(1, math.floor(len(train_full) * validation_percent / 100)),
    len(train_full) - 1,
  )
  chosen = {
    DatasetSplit.TRAIN_FULL: train_full,
    DatasetSplit.TEST: test,
    DatasetSplit.VALID: train_full[:num_valid],
    DatasetSplit.TRAIN: train_full[num_valid:],
  }[split]
  if not chosen:
    raise ValueError(
      f"The {split.value!r} split of {GLOB_PREFIX}{pattern!r} has no files: "
      f"{len(files)} match, and test, validation and training need one "
      "each."
    )
  return chosen


def _decode_image_file(path: tf.Tensor) -> Dict[str, tf.Tensor]:
  """{'image': uint8 [H, W, 3]} of one JPEG/PNG/GIF/BMP file, checked."""
  contents = tf.io.read_file(path)
  is_image = tf.reduce_any(
    [
      tf.strings.substr(contents, 0, len(sig)) == sig
      for sig in _IMAGE_SIGNATURES
    ]
  )
  check = tf.debugging.Assert(
    is_image, ["Content file is not a JPEG, PNG, GIF or BMP image:", path]
  )
  with tf.control_dependencies([check]):
    image = tf.io.decode_image(contents, channels=3, expand_animations=False)
  return {"image": image}


def load_image_files(
  pattern: str,
  split: Union[DatasetSplit, str],
  validation_percent: int = 20,
  shuffle_files: bool = False,
  seed: Optional[int] = None,
  num_shards: int = 1,
  shard: int = 0,
  max_pixels: int = image_files.DEFAULT_MAX_PIXELS,
) -> tf.data.Dataset:
  """The decoded images of one split of a 'glob:' dataset, one per file.

  Args:
    pattern: the glob (without 'glob:').
    split: a DatasetSplit or its value.
    validation_percent: p of the VALID and TRAIN splits.
    shuffle_files: read the files in random order.
    seed: seed of that order.
    num_shards: shard the files across this many input pipelines...
    shard: ... of which this is one.
    max_pixels: refuse the split if one of its files is larger (read from
      the headers before anything is decoded).

  Returns:
    A dataset of {'image': uint8 [H, W, 3]}; reading a file that is not an
    image raises tf.errors.InvalidArgumentError naming it.

  Raises:
    image_files.ImageTooLargeError: naming the first file over `max_pixels`.
  """
  files = glob_split_files(pattern, split, validation_percent)
  for path in files:
    image_files.check_file(path, max_pixels)
  dataset = tf.data.Dataset.from_tensor_slices(files)
  if num_shards > 1:
    dataset = dataset.shard(num_shards, shard)
  if shuffle_files:
    dataset = dataset.shuffle(
      len(files), seed=seed, reshuffle_each_iteration=True
    )
  return dataset.map(_decode_image_file, num_parallel_calls=tf.data.AUTOTUNE)


def _not_available_message(dataset_name: str, data_dir: str) -> str:
  return (
    f"Dataset {dataset_name!r} is not prepared in the TFDS data_dir "
    f"{data_dir!r}; yoto never downloads datasets. Either prepare it "
    "on a machine with internet access and copy the folder over:\n"
    f"  tfds build {dataset_name} --data_dir=DIR\n"
    '  (or: python -c "import tensorflow_datasets as tfds; '
    f"tfds.builder('{dataset_name}', data_dir='DIR')"
    '.download_and_prepare()")\n'
    "then pass --data_dir=DIR; or use the embedded default dataset "
    f"{EMBEDDED_DATASET!r} (or {', '.join(map(repr, BUILT_OFFLINE[1:]))}),"
    " which yoto builds offline."
  )


def load_split(
  dataset_name: str,
  split: str,
  data_dir: Optional[str] = None,
  shuffle_files: bool = False,
  seed: Optional[int] = None,
  autocache: bool = False,
) -> tf.data.Dataset:
  """Returns the raw TFDS `split` of `dataset_name` (builds photo_patches).

  Args:
    dataset_name: TFDS name, optionally with config and version.
    split: a TFDS split string such as 'train[20%:]'.
    data_dir: TFDS data_dir; None is TFDS's default.
    shuffle_files: read the files in random order.
    seed: seed of the file order.
    autocache: let TFDS cache small datasets in memory; only worth it (and
      only silent) when the whole split is read, e.g. when repeating.

  Returns:
    A dataset of decoded feature dicts, one example at a time.

  Raises:
    DatasetNotAvailableError: if the dataset is not prepared in `data_dir`.
  """
  builder = tfds.builder(dataset_name, data_dir=data_dir)
  if _is_embedded(dataset_name):
    builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(try_download_gcs=False)
    )
  read_config = tfds.ReadConfig(shuffle_seed=seed, try_autocache=autocache)
  try:
    return builder.as_dataset(
      split=split, shuffle_files=shuffle_files, read_config=read_config
    )
  except AssertionError as e:  # What TFDS raises for missing data, too.
    if builder.is_prepared():
      raise
    raise DatasetNotAvailableError(
      _not_available_message(dataset_name, str(builder.data_dir_root))
    ) from e


def load_examples(
  dataset_name: str,
  split: Union[DatasetSplit, str],
  validation_percent: int = 20,
  shuffle: bool = False,
  seed: Optional[int] = None,
  data_dir: Optional[str] = None,
  num_pipelines: int = 1,
  pipeline_id: int = 0,
  autocache: bool = False,
  max_pixels: int = image_files.DEFAULT_MAX_PIXELS,
) -> tf.data.Dataset:
  """The decoded examples of one split, this input pipeline's share of them.

  Args:
    dataset_name: TFDS name, optionally with config/version
      ('cifar10', 'shapes3d', 'photo_patches/64'), or 'glob:PATTERN' for
      image files (see the module docstring).
    split: a DatasetSplit or its value. The embedded datasets' VALID split
      is their own `validation` split and TRAIN all of `train`.
    validation_percent: p of the TRAIN (train[p%:]) and VALID (train[:p%])
      splits.
    shuffle: read the files in random order (TFDS files only without
      sharding, so that every pipeline shards the same order).
    seed: seed of that order.
    data_dir: TFDS data_dir; None is TFDS's default.
    num_pipelines: shard the examples (the files of a 'glob:' dataset)
      across this many input pipelines...
    pipeline_id: ... of which this is one.
    autocache: let TFDS cache a small split in memory (see `load_split`).
    max_pixels: the largest image a 'glob:' dataset may hold.

  Returns:
    A dataset of feature dicts, one example at a time.

  Raises:
    DatasetNotAvailableError: if the dataset is not prepared in `data_dir`.
    ValueError: for a bad split or validation_percent, and for a 'glob:'
      pattern that matches no file or leaves a split without one.
  """
  split = DatasetSplit(split)
  # Sharding examples needs the same file order in every pipeline, so files
  # are only shuffled without sharding; the shuffle buffer mixes examples.
  if is_glob(dataset_name):
    # Files are few enough to shard (and shuffle) before reading them.
    return load_image_files(
      dataset_name[len(GLOB_PREFIX) :],
      split,
      validation_percent,
      shuffle_files=shuffle,
      seed=seed,
      num_shards=num_pipelines,
      shard=pipeline_id,
      max_pixels=max_pixels,
    )
  tfds_split = split.tfds_split(validation_percent)
  if _is_embedded(dataset_name) and split in (
    DatasetSplit.TRAIN,
    DatasetSplit.VALID,
  ):
    # The embedded datasets hold out validation data of their own (a
    # whole photo, or scenes in no other split).
    tfds_split = {
      DatasetSplit.TRAIN: "train",
      DatasetSplit.VALID: "validation",
    }[split]
  dataset = load_split(
    dataset_name,
    tfds_split,
    data_dir=data_dir,
    shuffle_files=shuffle and num_pipelines == 1,
    seed=seed,
    autocache=autocache,
  )
  if num_pipelines > 1:
    dataset = dataset.shard(num_pipelines, pipeline_id)
  return dataset
