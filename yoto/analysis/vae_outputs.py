"""What a VAE hub module makes of data across β: the paper's Figure 3.

For a list of β values this computes the reconstructions of a batch of
inputs and the samples decoded from one fixed batch of N(0, I) noise, the
same noise for every β, so that a column of the figure shows how one latent
code decodes as β changes. Everything goes through the exported module's
`reconstruct_at_beta` / `sample_at_beta` signatures, so it works for any
module `python -m yoto.main` exported, with nothing but the module and the
data. A fixed-weight module ignores β: its rows are all alike.
"""

import dataclasses
import json
import os
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_hub as hub

from yoto import run_config
from yoto.training import export
from yoto.utils import data
from yoto.utils import image_files
from yoto.utils import preprocessing

DEFAULT_DATASET = data.EMBEDDED_DATASET
DEFAULT_PREPROCESS = "value_range(-1,1)"
BETA_LOSS = "kl_loss"  # `*_at_beta` use weights [β, 1] for the VAE's losses.


@dataclasses.dataclass
class VaeModule:
  """A loaded VAE hub module and what its metadata says about it."""
  path: str
  module: object
  metadata: dict

  @property
  def is_conditioned(self) -> bool:
    return self.metadata.get("preprocessing") is not None

  @property
  def latent_dimensions(self) -> int:
    return int(self.metadata["latent_dimensions"])

  @property
  def beta_range(self) -> Optional[Sequence[float]]:
    """(low, high) of β in training; None for a fixed-weight module."""
    ranges = self.metadata.get("ranges") or {}
    return tuple(ranges[BETA_LOSS]) if BETA_LOSS in ranges else None

  @property
  def model_dir(self) -> Optional[str]:
    return run_config.model_dir_of_module(self.path)


def load_module(path: str) -> VaeModule:
  """Loads a VAE hub module (or a model_dir's latest) with `hub.load`."""
  path = export.resolve_hub_module(path)
  module = hub.load(path)
  if not hasattr(module, "reconstruct_at_beta"):
    raise ValueError(f"{path} is not a VAE hub module: it has no "
                     "reconstruct_at_beta signature.")
  metadata = json.loads(module.metadata()["metadata"].numpy())
  return VaeModule(path=path, module=module, metadata=metadata)


def default_betas(module: VaeModule, count: int = 6) -> np.ndarray:
  """`count` β spread log-uniformly over the training range ([1] if fixed).
  """
  if module.beta_range is None:
    return np.array([1.0])
  low, high = module.beta_range
  return np.geomspace(low, high, count)


def check_betas(module: VaeModule, betas: Sequence[float]) -> np.ndarray:
  """The β as a float array; ValueError for a non-positive or untrained one.
  """
  betas = np.asarray(betas, dtype=np.float32).reshape(-1)
  if not betas.size:
    raise ValueError("Give at least one β.")
  if np.any(betas <= 0):
    raise ValueError(f"β must be positive, got {betas.tolist()}.")
  if module.is_conditioned and module.beta_range is not None:
    low, high = module.beta_range
    outside = [float(b) for b in betas
               if not low * (1 - 1e-5) <= b <= high * (1 + 1e-5)]
    if outside:
      raise ValueError(
          f"β {outside} outside the range [{low:g}, {high:g}] the module "
          f"{module.path} was trained on.")
  return betas


def load_images(num_examples: int = 8,
                dataset_name: str = DEFAULT_DATASET, split: str = "test",
                preprocess: str = DEFAULT_PREPROCESS,
                data_dir: Optional[str] = None,
                features_key: str = "image",
                max_pixels: int = image_files.DEFAULT_MAX_PIXELS
                ) -> np.ndarray:
  """The first `num_examples` images of a split, preprocessed as in eval
  (a 'glob:' dataset's files no larger than `max_pixels`)."""
  dataset = data.get_dataset(
      dataset_name, split, batch_size=num_examples,
      preprocess_fn=preprocessing.get_preprocess_fn(preprocess),
      data_dir=data_dir, drop_remainder=False, max_pixels=max_pixels)
  batch = next(iter(dataset.take(1)), None)
  if batch is None or features_key not in batch:
    raise ValueError(f"The {split!r} split of {dataset_name!r} gave no "
                     f"{features_key!r} images.")
  return batch[features_key].numpy()


def make_noise(module: VaeModule, num_samples: int,
               seed: int = 0) -> np.ndarray:
  """N(0, I) latents [num_samples, latent_dimensions], fixed by `seed`."""
  rng = np.random.default_rng(seed)
  return rng.standard_normal(
      (num_samples, module.latent_dimensions)).astype(np.float32)


def reconstructions(module: VaeModule, images: np.ndarray,
                    betas: Sequence[float]) -> np.ndarray:
  """Reconstructions [len(betas), N, H, W, C] of `images` at each β."""
  betas = check_betas(module, betas)
  images = tf.constant(images, tf.float32)
  return np.stack([
      module.module.reconstruct_at_beta(image=images, beta=tf.constant(b))[
          "reconstructions"].numpy() for b in betas])


def samples(module: VaeModule, noise: np.ndarray,
            betas: Sequence[float]) -> np.ndarray:
  """Samples [len(betas), N, H, W, C] decoded from the same `noise` per β.
  """
  betas = check_betas(module, betas)
  noise = tf.constant(noise, tf.float32)
  return np.stack([
      module.module.sample_at_beta(noise=noise, beta=tf.constant(b))[
          "image_samples"].numpy() for b in betas])


@dataclasses.dataclass
class BetaGrid:
  """Inputs, and reconstructions and samples per β: one Figure 3.

  Attributes:
    betas: [K] the β of each row.
    inputs: [N, H, W, C] the input images.
    reconstructions: [K, N, H, W, C].
    samples: [K, M, H, W, C], row k decoded at betas[k] from shared noise.
    value_range: (low, high) of the image values, for display.
    title: what the grid shows.
  """
  betas: np.ndarray
  inputs: np.ndarray
  reconstructions: np.ndarray
  samples: np.ndarray
  value_range: Sequence[float] = (-1.0, 1.0)
  title: str = ""


def beta_grid(module: VaeModule, images: np.ndarray,
              betas: Optional[Sequence[float]] = None,
              num_samples: Optional[int] = None, seed: int = 0,
              value_range: Optional[Sequence[float]] = None) -> BetaGrid:
  """Reconstructions of `images` and samples of shared noise at each β.

  Args:
    module: a loaded VAE module.
    images: [N, H, W, C] inputs, preprocessed as in training.
    betas: the β of the rows; default `default_betas(module)`.
    num_samples: samples per row (default N).
    seed: seed of the shared noise.
    value_range: the images' value range; default (-1, 1) if any input is
      negative, else (0, 1).

  Returns:
    A BetaGrid.
  """
  betas = check_betas(module, default_betas(module) if betas is None
                      else betas)
  noise = make_noise(module, num_samples or len(images), seed)
  if value_range is None:
    value_range = (-1.0, 1.0) if np.min(images) < 0 else (0.0, 1.0)
  return BetaGrid(
      betas=betas, inputs=np.asarray(images),
      reconstructions=reconstructions(module, images, betas),
      samples=samples(module, noise, betas), value_range=tuple(value_range),
      title=describe(module))


def describe(module: VaeModule) -> str:
  """A short title: the kind of model, its run and its checkpoint."""
  kind = "YOTO" if module.is_conditioned else "Fixed-weight (ignores β)"
  run = module.model_dir or os.path.dirname(os.path.normpath(module.path))
  return (f"{kind} model {os.path.basename(os.path.normpath(run))}, "
          f"{os.path.basename(os.path.normpath(module.path))}")
