"""The image ops of the preprocessing mini-language (`yoto.utils.preprocessing`).

Each op is a factory: it takes the arguments written in a pipeline string,
checks them eagerly (a bad config fails before any training starts) and
returns an image function `fn(image, seed) -> image`. `image` is one image
[height, width, channels] (inside `tf.data.Dataset.map`) or a batch
[batch, height, width, channels], and every op treats the images of a batch
independently (own crop offset, own flip), so a pipeline may run on whole
batches. `seed` is an int64 tensor [2] for stateless random ops; the
deterministic ops ignore it (the pipeline passes None to them).

`OPS` is the registry the parser accepts names from; `RANDOM_OPS` are the
ones that consume a seed.
"""

from typing import Any, Callable, Dict, Tuple

import tensorflow as tf

# An op factory takes the parsed arguments and returns an image function
# `fn(image, seed) -> image` where seed is an int64 tensor of shape [2].
ImageFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]

# ----------------------------------------------------------------------------
# Argument checking helpers (run eagerly, when an op is built).


def _is_int(value: Any) -> bool:
  return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
  return isinstance(value, (int, float)) and not isinstance(value, bool)


def _size_pair(size: Any, arg_name: str = "size") -> Tuple[int, int]:
  """Returns (height, width) from an int or a pair of ints, all positive."""
  if _is_int(size):
    size = (size, size)
  if (
    not isinstance(size, (tuple, list))
    or len(size) != 2
    or not all(_is_int(s) for s in size)
  ):
    raise ValueError(
      f"{arg_name} must be an int or a pair [height, width] of "
      f"ints, got {size!r}."
    )
  if min(size) <= 0:
    raise ValueError(f"{arg_name} must be positive, got {size!r}.")
  return int(size[0]), int(size[1])


def _check_number(value: Any, arg_name: str) -> float:
  if not _is_number(value):
    raise ValueError(f"{arg_name} must be a number, got {value!r}.")
  return float(value)


# ----------------------------------------------------------------------------
# Image helpers, for one image [h, w, c] or a batch [b, h, w, c].


def _as_batch(image: tf.Tensor) -> Tuple[tf.Tensor, bool]:
  """Returns `image` as a batch [b, h, w, c], and whether it was one image."""
  rank = image.shape.rank
  if rank == 3:
    return image[tf.newaxis], True
  if rank == 4:
    return image, False
  raise ValueError(
    f"Expected an image [h, w, c] or a batch [b, h, w, c], got "
    f"shape {image.shape}."
  )


def _from_batch(images: tf.Tensor, single: bool) -> tf.Tensor:
  return images[0] if single else images


def _check_fits(images: tf.Tensor, height: int, width: int, op_name: str):
  """Raises at trace time if a static image is smaller than the crop."""
  in_height, in_width = images.shape[1], images.shape[2]
  if (in_height is not None and in_height < height) or (
    in_width is not None and in_width < width
  ):
    raise ValueError(
      f"{op_name}: crop {height}x{width} does not fit into an "
      f"image of shape {images.shape[1:]}."
    )


def _crop_at(
  images: tf.Tensor,
  offset_y: tf.Tensor,
  offset_x: tf.Tensor,
  height: int,
  width: int,
) -> tf.Tensor:
  """Crops `images` [b, H, W, c] at per-image offsets [b] to [b, h, w, c]."""
  rows = offset_y[:, tf.newaxis] + tf.range(height)  # [b, h]
  cols = offset_x[:, tf.newaxis] + tf.range(width)  # [b, w]
  images = tf.gather(images, rows, axis=1, batch_dims=1)  # [b, h, W, c]
  return tf.gather(images, cols, axis=2, batch_dims=1)  # [b, h, w, c]


# ----------------------------------------------------------------------------
# The ops. Each factory validates its arguments and returns fn(image, seed).


def resize(size) -> ImageFn:
  """Bilinear resize to `size` (int: square, or [height, width]); same dtype."""
  height, width = _size_pair(size)

  def fn(image, seed):
    del seed  # Deterministic op.
    resized = tf.image.resize(image, (height, width), method="bilinear")
    if image.dtype.is_integer:
      return tf.saturate_cast(tf.round(resized), image.dtype)
    return tf.cast(resized, image.dtype)

  return fn


def random_crop(size) -> ImageFn:
  """Crops a uniformly random window of `size` (int or [height, width])."""
  height, width = _size_pair(size)

  def fn(image, seed):
    images, single = _as_batch(image)
    _check_fits(images, height, width, "random_crop")
    shape = tf.shape(images)
    with tf.control_dependencies(
      [
        tf.debugging.assert_greater_equal(
          shape[1:3],
          tf.constant([height, width]),
          message="random_crop: crop larger than the image",
        )
      ]
    ):
      seed_y, seed_x = tf.unstack(tf.random.experimental.stateless_split(seed))
      offset_y = tf.random.stateless_uniform(
        [shape[0]],
        seed_y,
        minval=0,
        maxval=shape[1] - height + 1,
        dtype=tf.int32,
      )
      offset_x = tf.random.stateless_uniform(
        [shape[0]],
        seed_x,
        minval=0,
        maxval=shape[2] - width + 1,
        dtype=tf.int32,
      )
    return _from_batch(
      _crop_at(images, offset_y, offset_x, height, width), single
    )

  return fn


def central_crop(size) -> ImageFn:
  """Crops the central window of `size` (int or [height, width])."""
  height, width = _size_pair(size)

  def fn(image, seed):
    del seed  # Deterministic op.
    images, single = _as_batch(image)
    _check_fits(images, height, width, "central_crop")
    shape = tf.shape(images)
    offset_y = tf.fill([shape[0]], (shape[1] - height) // 2)
    offset_x = tf.fill([shape[0]], (shape[2] - width) // 2)
    return _from_batch(
      _crop_at(images, offset_y, offset_x, height, width), single
    )

  return fn


def flip_lr() -> ImageFn:
  """Flips left-right with probability 1/2 (independently per image)."""

  def fn(image, seed):
    return tf.image.stateless_random_flip_left_right(image, seed)

  return fn


def value_range(
  vmin=-1, vmax=1, in_min=0, in_max=255, clip_values=False
) -> ImageFn:
  """Casts to float32 and maps [in_min, in_max] linearly onto [vmin, vmax]."""
  vmin = _check_number(vmin, "vmin")
  vmax = _check_number(vmax, "vmax")
  in_min = _check_number(in_min, "in_min")
  in_max = _check_number(in_max, "in_max")
  if in_min == in_max:
    raise ValueError(f"in_min and in_max must differ, both are {in_min}.")
  if not isinstance(clip_values, bool):
    raise ValueError(f"clip_values must be True or False, got {clip_values!r}.")
  scale = (vmax - vmin) / (in_max - in_min)

  def fn(image, seed):
    del seed  # Deterministic op.
    image = (tf.cast(image, tf.float32) - in_min) * scale + vmin
    if clip_values:
      image = tf.clip_by_value(image, min(vmin, vmax), max(vmin, vmax))
    return image

  return fn


OPS: Dict[str, Callable[..., ImageFn]] = {
  "resize": resize,
  "random_crop": random_crop,
  "central_crop": central_crop,
  "flip_lr": flip_lr,
  "value_range": value_range,
}
# Ops that consume the seed; pipelines without them need no seed.
RANDOM_OPS = frozenset({"random_crop", "flip_lr"})
