"""Small λ-conditioned codecs and natural images for the compression tests."""

import numpy as np
import tensorflow as tf

from yoto.problems import compression
from yoto.utils import photo_patches

FILTERS = 8
LAMBDA_RANGE = (0.0012, 0.26)
# log λ centred as in the configs.
OFFSET = [float(np.mean(np.log(LAMBDA_RANGE))), 0.0]


def problem(conditioned=True, filters=FILTERS, **kwargs):
  """A built, untrained `HyperpriorCompressionProblem` (32x32 images);
  `kwargs` go to the problem."""
  built = compression.HyperpriorCompressionProblem(
    num_filters=filters,
    conditioning_layer_sizes=[8],
    conditioning_input_offset=OFFSET,
    **kwargs,
  )
  built.initialize_model(
    {"image": tf.TensorSpec([None, 32, 32, 3])}, 2 if conditioned else None
  )
  return built


def inputs_extra(lmbda, batch):
  """log [λ, 1] for every example: [batch, 2]."""
  return tf.math.log(tf.constant([[lmbda, 1.0]] * batch, tf.float32))


def photo_crops(size, count, name="astronaut", seed=0):
  """Natural-image crops [count, size, size, 3] in [0, 1]."""
  photo = photo_patches.load_photo(name)[..., :3]
  rng = np.random.default_rng(seed)
  crops = []
  for _ in range(count):
    y = rng.integers(0, photo.shape[0] - size)
    x = rng.integers(0, photo.shape[1] - size)
    crops.append(photo[y : y + size, x : x + size])
  return tf.constant(np.stack(crops), tf.float32) / 255.0
