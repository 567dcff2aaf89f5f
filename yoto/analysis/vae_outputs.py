"""What a VAE hub module makes of data across β: the paper's Figure 3.

For a list of β values this computes the reconstructions of a batch of
inputs and the samples decoded from one fixed batch of N(0, I) noise, the
same noise for every β, so that a column of the figure shows how one latent
code decodes as β changes. Everything goes through the module's client
(`yoto.clients.vae.VaeClient`, its `reconstruct_at_beta` / `sample_at_beta`
signatures), so it works for any module `python -m yoto.main` exported, with
nothing but the module and the data. A fixed-weight module ignores β: its
rows are all alike.
"""

import dataclasses
import os
from typing import Optional, Sequence

import numpy as np

from yoto.clients import vae
from yoto.utils import data
from yoto.utils import image_files
from yoto.utils import preprocessing

DEFAULT_DATASET = data.EMBEDDED_DATASET
DEFAULT_PREPROCESS = "value_range(-1,1)"


def default_betas(module: vae.VaeClient, count: int = 6) -> np.ndarray:
  """`count` β spread log-uniformly over the training range ([1] if fixed)."""
  if module.beta_range is None:
    return np.array([1.0])
  low, high = module.beta_range
  return np.geomspace(low, high, count)


def check_betas(module: vae.VaeClient, betas: Sequence[float]) -> np.ndarray:
  """The β as a float32 array [K].

  Raises:
    base.ClientError: for no β, a non-positive β or one outside the
      module's training range (`VaeClient.check_beta`).
  """
  betas = np.asarray(betas, dtype=np.float32).reshape(-1)
  if not betas.size:
    raise module.Error("Give at least one β.")
  for beta in betas:
    module.check_beta(beta)
  return betas


def load_images(
  num_examples: int = 8,
  dataset_name: str = DEFAULT_DATASET,
  split: str = "test",
  preprocess: str = DEFAULT_PREPROCESS,
  data_dir: Optional[str] = None,
  features_key: str = "image",
  max_pixels: int = image_files.DEFAULT_MAX_PIXELS,
) -> np.ndarray:
  """The first `num_examples` images of a split, preprocessed as in eval
  (a 'glob:' dataset's files no larger than `max_pixels`)."""
  dataset = data.get_dataset(
    dataset_name,
    split,
    batch_size=num_examples,
    preprocess_fn=preprocessing.get_preprocess_fn(preprocess),
    data_dir=data_dir,
    drop_remainder=False,
    max_pixels=max_pixels,
  )
  batch = next(iter(dataset.take(1)), None)
  if batch is None or features_key not in batch:
    raise ValueError(
      f"The {split!r} split of {dataset_name!r} gave no "
      f"{features_key!r} images."
    )
  return batch[features_key].numpy()


def make_noise(
  module: vae.VaeClient, num_samples: int, seed: int = 0
) -> np.ndarray:
  """N(0, I) latents [num_samples, latent_dimensions], fixed by `seed`."""
  rng = np.random.default_rng(seed)
  return rng.standard_normal((num_samples, module.latent_dimensions)).astype(
    np.float32
  )


def reconstructions(
  module: vae.VaeClient, images: np.ndarray, betas: Sequence[float]
) -> np.ndarray:
  """Reconstructions [len(betas), N, H, W, C] of `images` at each β."""
  betas = check_betas(module, betas)
  return np.stack([module.reconstruct(images, b) for b in betas])


def samples(
  module: vae.VaeClient, noise: np.ndarray, betas: Sequence[float]
) -> np.ndarray:
  """Samples [len(betas), N, H, W, C] decoded from the same `noise` per β."""
  betas = check_betas(module, betas)
  return np.stack([module.sample(noise, b) for b in betas])


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


def beta_grid(
  module: vae.VaeClient,
  images: np.ndarray,
  betas: Optional[Sequence[float]] = None,
  num_samples: Optional[int] = None,
  seed: int = 0,
  value_range: Optional[Sequence[float]] = None,
) -> BetaGrid:
  """Reconstructions of `images` and samples of shared noise at each β.

  Args:
    module: a VAE module's client (`vae.VaeClient.load(path)`).
    images: [N, H, W, C] inputs, preprocessed as in training.
    betas: the β of the rows; default `default_betas(module)`.
    num_samples: samples per row (default N).
    seed: seed of the shared noise.
    value_range: the images' value range; default (-1, 1) if any input is
      negative, else (0, 1).

  Returns:
    A BetaGrid.
  """
  betas = check_betas(module, default_betas(module) if betas is None else betas)
  noise = make_noise(module, num_samples or len(images), seed)
  if value_range is None:
    value_range = (-1.0, 1.0) if np.min(images) < 0 else (0.0, 1.0)
  return BetaGrid(
    betas=betas,
    inputs=np.asarray(images),
    reconstructions=reconstructions(module, images, betas),
    samples=samples(module, noise, betas),
    value_range=tuple(value_range),
    title=describe(module),
  )


def describe(module: vae.VaeClient) -> str:
  """A short title: the kind of model, its run and its checkpoint."""
  kind = "YOTO" if module.is_conditioned else "Fixed-weight (ignores β)"
  run = module.model_dir or os.path.dirname(os.path.normpath(module.path))
  return (
    f"{kind} model {os.path.basename(os.path.normpath(run))}, "
    f"{os.path.basename(os.path.normpath(module.path))}"
  )
