"""Random VGG-16 weights for shape tests: He-initialised, never for losses."""

import numpy as np

from yoto.architectures import vgg


def random_vgg16_weights(seed: int = 0) -> vgg.Vgg16Weights:
  """He-initialised weights in the layout of the real ones."""
  rng = np.random.default_rng(seed)
  convs = {}
  for name, c_in, c_out in vgg.VGG16_CONVS:
    std = np.sqrt(2.0 / (9 * c_in))
    convs[name] = (
      rng.normal(0, std, (3, 3, c_in, c_out)).astype(np.float32),
      np.zeros([c_out], np.float32),
    )
  return vgg.Vgg16Weights(
    convs, vgg.IMAGENET_MEAN_BGR, f"random (seed {seed})", ""
  )
