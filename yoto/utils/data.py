"""Input pipelines: a dataset's split to batched, preprocessed feature dicts.

`get_dataset` takes one split's examples from `yoto.utils.data_sources`
(TFDS datasets, built offline where they ship with the package, or image
files by glob), sharded across input pipelines, then shuffles, repeats,
preprocesses (see `yoto.utils.preprocessing`), drops non-numeric features
(such as the `source` string of `photo_patches`) and batches.

Speed: when the images have one static shape (every TFDS image dataset) and
the preprocessing is a `preprocessing.get_preprocess_fn` pipeline (it works on
batches: every image gets its own crop offset and flip), examples are batched
first and the pipeline runs once per batch. No function then runs per example
after TFDS's decoding: a `Dataset.map` costs tens of microseconds per call
whatever it does, and per-example preprocessing cost about 5.5 ms of CPU per
batch of 64 on `photo_patches` (8 % of a training step on 2 cores), the
batched form under 1 ms (`python -m benchmarks.input_pipeline`). Decoded
examples are cached in memory by TFDS's autocache when a small split is
repeated (`data_sources.load_split(autocache=True)`), so PNGs are decoded
once.
"""

from typing import Any, Callable, Dict, Optional, Union

import numpy as np
import tensorflow as tf

from yoto.utils import data_sources
from yoto.utils import image_files
from yoto.utils import preprocessing

DEFAULT_SHUFFLE_BUFFER_SIZE = 10_000
# The embedded default dataset, for callers of `get_dataset` that need a
# dataset name.
EMBEDDED_DATASET = data_sources.EMBEDDED_DATASET

Features = Dict[str, tf.Tensor]


def numeric_features(features: Dict[str, Any]) -> Features:
  """Keeps the top-level numeric (and bool) tensors; drops strings and dicts."""

  def is_numeric(value):
    return isinstance(value, tf.Tensor) and (
      value.dtype.is_integer
      or value.dtype.is_floating
      or value.dtype.is_complex
      or value.dtype.is_bool
    )

  return {key: value for key, value in features.items() if is_numeric(value)}


def _add_seeds(
  dataset: tf.data.Dataset, seed: int, pipeline_id: int
) -> tf.data.Dataset:
  """Adds preprocessing.SEED_KEY = [s, index] to every element.

  `index` counts the elements (examples, or batches when the preprocessing
  runs on batches) in the order they come out of `dataset` (after repeat), so
  every epoch gets fresh random crops and flips; `s` mixes the seed with the
  input pipeline id so that pipelines do not share randomness.
  """
  stream_seed = int(
    np.random.SeedSequence([seed, pipeline_id]).generate_state(
      1, dtype=np.uint32
    )[0]
  )

  def add_seed(index, features):
    features = dict(features)
    features[preprocessing.SEED_KEY] = tf.stack(
      [tf.constant(stream_seed, tf.int64), index]
    )
    return features

  return dataset.enumerate().map(add_seed)


def _preprocesses_batches(preprocess_fn, element_spec) -> bool:
  """Whether `preprocess_fn` may run on whole batches of `element_spec`.

  True for the identity (None) and for functions that declare it
  (`preprocessing.get_preprocess_fn` sets `supports_batches`), provided the
  images have one static shape, so that they can be batched before the
  preprocessing makes them one size.
  """
  if preprocess_fn is not None and not getattr(
    preprocess_fn, "supports_batches", False
  ):
    return False
  image = element_spec.get("image") if isinstance(element_spec, dict) else None
  return image is None or image.shape.is_fully_defined()


def get_dataset(
  dataset_name: str,
  split: Union[data_sources.DatasetSplit, str],
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
  batch_preprocessing: bool = True,
  max_pixels: int = image_files.DEFAULT_MAX_PIXELS,
) -> tf.data.Dataset:
  """Returns batches of preprocessed numeric features of a TFDS split.

  Args:
    dataset_name: TFDS name, optionally with config/version
      ('cifar10', 'shapes3d', 'photo_patches/64'), or 'glob:PATTERN' for
      image files (see `yoto.utils.data_sources`).
    split: a DatasetSplit or its value ('train', 'valid', 'train_full',
      'test').
    validation_percent: p of the TRAIN (train[p%:]) and VALID (train[:p%])
      splits. The embedded `photo_patches` ignores it: its VALID split is
      its `validation` split (crops of a photo held out of training and
      test) and TRAIN is all of `train`.
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
    batch_preprocessing: run `preprocess_fn` once per batch where it can
      (see the module docstring): the same augmentations from the same
      distribution, drawn from one seed per batch instead of per example, so
      a seeded run gives other (equally deterministic) crops and flips than
      with False, which runs it on every example before batching.
    max_pixels: the largest image a 'glob:' dataset may hold, checked from
      every file's header before reading (see
      `data_sources.load_image_files`).

  Returns:
    A dataset of dicts of numeric tensors with leading dimension the batch
    size, e.g. {'image': float32 [b, 32, 32, 3], 'label': int64 [b]} for
    cifar10 with 'value_range(0, 1)'. String features are dropped.

  Raises:
    DatasetNotAvailableError: if the dataset is not prepared in `data_dir`.
    ValueError: for a bad split or validation_percent; for 'glob:' datasets
      also when no file matches, a split has no files, or the preprocessing
      leaves images of different sizes.
  """
  num_pipelines, pipeline_id = 1, 0
  if input_context is not None:
    num_pipelines = input_context.num_input_pipelines
    pipeline_id = input_context.input_pipeline_id
  dataset = data_sources.load_examples(
    dataset_name,
    split,
    validation_percent,
    shuffle=shuffle,
    seed=seed,
    data_dir=data_dir,
    num_pipelines=num_pipelines,
    pipeline_id=pipeline_id,
    autocache=repeat,
    max_pixels=max_pixels,
  )
  batched = batch_preprocessing and _preprocesses_batches(
    preprocess_fn, dataset.element_spec
  )
  if shuffle:
    dataset = dataset.shuffle(
      shuffle_buffer_size, seed=seed, reshuffle_each_iteration=True
    )
  if repeat:
    dataset = dataset.repeat()
  if batched:
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
  if seed is not None:
    dataset = _add_seeds(dataset, seed, pipeline_id)
  preprocess_fn = preprocess_fn or (lambda features: features)

  def preprocess(features):
    features = dict(preprocess_fn(features))
    features.pop(preprocessing.SEED_KEY, None)
    return numeric_features(features)

  dataset = dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
  if (
    data_sources.is_glob(dataset_name)
    and "image" in dataset.element_spec
    and not dataset.element_spec["image"].shape.is_fully_defined()
  ):
    raise ValueError(
      f"The images of {dataset_name!r} keep their own sizes after the "
      f"preprocessing, so they cannot be batched (shape "
      f"{dataset.element_spec['image'].shape}); add resize(SIZE), "
      "random_crop(SIZE) or central_crop(SIZE) to experiment.preprocess "
      "and experiment.preprocess_eval."
    )
  if not batched:
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
  if seed is not None:
    options = tf.data.Options()
    options.deterministic = True
    dataset = dataset.with_options(options)
  return dataset.prefetch(tf.data.AUTOTUNE)
