"""Input pipelines: TFDS datasets to batched, preprocessed feature dicts.

`get_dataset` loads one split of a TFDS dataset, shards it across input
pipelines, shuffles, repeats, preprocesses (see `yoto.utils.preprocessing`),
drops non-numeric features (such as the `source` string of `photo_patches`)
and batches. Splits follow the original YOTO code: the validation split is the
first `validation_percent` percent of `train`, the training split the rest.

Offline behaviour: the embedded default `photo_patches` (any config, e.g.
`photo_patches/64`) is built on first use; every other dataset must already be
prepared in `data_dir`, otherwise `DatasetNotAvailableError` says how to
prepare it. Nothing here downloads: importing this module switches off TFDS's
GCS bucket access (see `photo_patches.disable_tfds_gcs`).

"Not prepared" is detected by calling `builder.as_dataset` and translating its
error, not with `builder.is_prepared()`, so that `tfds.testing.mock_data`
(which fakes `as_dataset` and leaves no files anywhere) keeps working.
"""

import enum
from typing import Any, Callable, Dict, Optional, Union

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from yoto.utils import photo_patches
from yoto.utils import preprocessing

photo_patches.disable_tfds_gcs()

EMBEDDED_DATASET = 'photo_patches'
DEFAULT_SHUFFLE_BUFFER_SIZE = 10_000

Features = Dict[str, tf.Tensor]


class DatasetNotAvailableError(ValueError):
  """A dataset is not prepared in the data_dir and cannot be built offline."""


class DatasetSplit(enum.Enum):
  """The four splits of the original code; see `tfds_split`."""
  TRAIN = 'train'  # train[p%:]
  VALID = 'valid'  # train[:p%]
  TRAIN_FULL = 'train_full'  # train
  TEST = 'test'  # test

  def tfds_split(self, validation_percent: int = 20) -> str:
    """Returns the TFDS split string, with `validation_percent` p in [1, 99]."""
    if self in (DatasetSplit.TRAIN, DatasetSplit.VALID):
      if (isinstance(validation_percent, bool) or
          not isinstance(validation_percent, int) or
          not 0 < validation_percent < 100):
        raise ValueError('validation_percent must be an int in [1, 99], got '
                         f'{validation_percent!r}.')
    return {
        DatasetSplit.TRAIN: f'train[{validation_percent}%:]',
        DatasetSplit.VALID: f'train[:{validation_percent}%]',
        DatasetSplit.TRAIN_FULL: 'train',
        DatasetSplit.TEST: 'test',
    }[self]


def _is_embedded(dataset_name: str) -> bool:
  return dataset_name.split('/')[0].split(':')[0] == EMBEDDED_DATASET


def _not_available_message(dataset_name: str, data_dir: str) -> str:
  return (
      f'Dataset {dataset_name!r} is not prepared in the TFDS data_dir '
      f'{data_dir!r}; yoto never downloads datasets. Either prepare it '
      'on a machine with internet access and copy the folder over:\n'
      f'  tfds build {dataset_name} --data_dir=DIR\n'
      '  (or: python -c "import tensorflow_datasets as tfds; '
      f"tfds.builder('{dataset_name}', data_dir='DIR')"
      '.download_and_prepare()")\n'
      'then pass --data_dir=DIR; or use the embedded default dataset '
      f'{EMBEDDED_DATASET!r}, which is built offline.')


def load_split(dataset_name: str, split: str,
               data_dir: Optional[str] = None, shuffle_files: bool = False,
               seed: Optional[int] = None,
               autocache: bool = False) -> tf.data.Dataset:
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
        download_config=tfds.download.DownloadConfig(try_download_gcs=False))
  read_config = tfds.ReadConfig(shuffle_seed=seed, try_autocache=autocache)
  try:
    return builder.as_dataset(split=split, shuffle_files=shuffle_files,
                              read_config=read_config)
  except AssertionError as e:  # TFDS's "could not find data in DIR".
    if 'could not find data' not in str(e):
      raise
    raise DatasetNotAvailableError(_not_available_message(
        dataset_name, str(builder.data_dir_root))) from e


def numeric_features(features: Dict[str, Any]) -> Features:
  """Keeps the top-level numeric (and bool) tensors; drops strings and dicts."""
  def is_numeric(value):
    return (isinstance(value, tf.Tensor) and
            (value.dtype.is_integer or value.dtype.is_floating or
             value.dtype.is_complex or value.dtype.is_bool))
  return {key: value for key, value in features.items() if is_numeric(value)}


def _add_seeds(dataset: tf.data.Dataset, seed: int,
               pipeline_id: int) -> tf.data.Dataset:
  """Adds preprocessing.SEED_KEY = [s, index] to every example.

  `index` counts examples in the order they come out of `dataset` (after
  repeat), so every epoch gets fresh random crops and flips; `s` mixes the
  seed with the input pipeline id so that pipelines do not share randomness.
  """
  stream_seed = int(np.random.SeedSequence([seed, pipeline_id]).generate_state(
      1, dtype=np.uint32)[0])

  def add_seed(index, features):
    features = dict(features)
    features[preprocessing.SEED_KEY] = tf.stack(
        [tf.constant(stream_seed, tf.int64), index])
    return features

  return dataset.enumerate().map(add_seed)


def get_dataset(
    dataset_name: str,
    split: Union[DatasetSplit, str],
    validation_percent: int = 20,
    batch_size: int = 64,
    preprocess_fn: Optional[Callable[[Dict[str, Any]], Dict[str, Any]]] = None,
    shuffle: bool = False,
    repeat: bool = False,
    data_dir: Optional[str] = None,
    seed: Optional[int] = None,
    input_context: Optional[tf.distribute.InputContext] = None,
    drop_remainder: bool = True,
    shuffle_buffer_size: int = DEFAULT_SHUFFLE_BUFFER_SIZE,
    cache: bool = False,
) -> tf.data.Dataset:
  """Returns batches of preprocessed numeric features of a TFDS split.

  Args:
    dataset_name: TFDS name, optionally with config/version
      ('cifar10', 'shapes3d', 'photo_patches/64').
    split: a DatasetSplit or its value ('train', 'valid', 'train_full',
      'test').
    validation_percent: p of the TRAIN (train[p%:]) and VALID (train[:p%])
      splits. The embedded `photo_patches` ignores it: its VALID split is
      crops of the held-out test photo and TRAIN is all of `train`.
    batch_size: the batch size of the returned dataset. Under a distribution
      strategy that is the per-replica batch size, which the caller computes
      (`input_context.get_per_replica_batch_size(global_batch_size)`), as
      `distribute_datasets_from_function` expects.
    preprocess_fn: fn(features) -> features applied to each example, e.g. from
      `preprocessing.get_preprocess_fn`; None keeps the decoded features.
    shuffle: shuffle files and examples.
    repeat: repeat forever (after shuffling, so every epoch is reshuffled).
    data_dir: TFDS data_dir; None is TFDS's default (~/tensorflow_datasets or
      $TFDS_DATA_DIR).
    seed: makes shuffling and random preprocessing deterministic; None draws
      fresh randomness on every run.
    input_context: shards examples across `num_input_pipelines` (this is
      pipeline `input_pipeline_id`); it does not change the batch size.
    drop_remainder: drop the last, smaller batch.
    shuffle_buffer_size: examples in the shuffle buffer.
    cache: cache decoded examples in memory (small datasets only).

  Returns:
    A dataset of dicts of numeric tensors with leading dimension the batch
    size, e.g. {'image': float32 [b, 32, 32, 3], 'label': int64 [b]} for
    cifar10 with 'value_range(0, 1)'. String features are dropped.

  Raises:
    DatasetNotAvailableError: if the dataset is not prepared in `data_dir`.
    ValueError: for a bad split or validation_percent.
  """
  split = DatasetSplit(split)
  num_pipelines, pipeline_id = 1, 0
  if input_context is not None:
    num_pipelines = input_context.num_input_pipelines
    pipeline_id = input_context.input_pipeline_id
  # Sharding examples needs the same file order in every pipeline, so files
  # are only shuffled without sharding; the shuffle buffer mixes examples.
  tfds_split = split.tfds_split(validation_percent)
  if _is_embedded(dataset_name) and split in (DatasetSplit.TRAIN,
                                              DatasetSplit.VALID):
    # The embedded dataset holds out whole photos for validation too.
    tfds_split = {DatasetSplit.TRAIN: 'train',
                  DatasetSplit.VALID: 'validation'}[split]
  dataset = load_split(dataset_name, tfds_split,
                       data_dir=data_dir,
                       shuffle_files=shuffle and num_pipelines == 1, seed=seed,
                       autocache=repeat)
  if num_pipelines > 1:
    dataset = dataset.shard(num_pipelines, pipeline_id)
  if cache:
    dataset = dataset.cache()
  if shuffle:
    dataset = dataset.shuffle(shuffle_buffer_size, seed=seed,
                              reshuffle_each_iteration=True)
  if repeat:
    dataset = dataset.repeat()
  if seed is not None:
    dataset = _add_seeds(dataset, seed, pipeline_id)
  preprocess_fn = preprocess_fn or (lambda features: features)

  def preprocess(features):
    features = dict(preprocess_fn(features))
    features.pop(preprocessing.SEED_KEY, None)
    return numeric_features(features)

  dataset = dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
  dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
  if seed is not None:
    options = tf.data.Options()
    options.deterministic = True
    dataset = dataset.with_options(options)
  return dataset.prefetch(tf.data.AUTOTUNE)
