"""How each family of generated styles is drawn (see `yoto.utils.styles`).

Six generators, each a pure function of a photo and a numpy generator:
`fn(photo, size, scale, rng) -> image`, with `photo` float [size, size, 3] in
[0, 1] (the bundled photo giving the colours), `scale` the feature size (cell,
dot, stroke period) as a fraction of `size`, and `image` float
[size, size, 3] in [0, 1]:

- 'mosaic': Voronoi cells coloured by the photo at their seed, dark joints;
- 'pointillism': round dots of saturated photo colours on a light canvas;
- 'hatching': pen hatching, more stroke directions in darker tones;
- 'posterized': three levels per channel and ink outlines at edges;
- 'waves': bands of four photo colours along a wavy direction;
- 'tiles': a rotated floor of square tiles with light grout.

`GENERATORS` maps each family name to its function.
"""

from typing import Callable, Dict, Tuple

import numpy as np


def _saturate(colors: np.ndarray, amount: float = 1.8) -> np.ndarray:
  """Pushes colours away from their grey value; [..., 3] in [0, 1]."""
  grey = colors.mean(axis=-1, keepdims=True)
  return np.clip(grey + amount * (colors - grey), 0.0, 1.0)


def _luminance(image: np.ndarray) -> np.ndarray:
  return image @ np.array([0.299, 0.587, 0.114], np.float32)


def _grid(size: int) -> Tuple[np.ndarray, np.ndarray]:
  """Pixel coordinates y, x, each [size, size], float."""
  return np.mgrid[0:size, 0:size].astype(np.float32)


def _palette(photo: np.ndarray, count: int) -> np.ndarray:
  """`count` saturated colours of the photo, from dark to light: [count, 3]."""
  pixels = _saturate(photo.reshape(-1, 3), 2.0)
  order = np.argsort(_luminance(pixels))
  quantiles = np.linspace(0.1, 0.9, count)
  return pixels[order[(quantiles * (len(order) - 1)).astype(int)]]


def _mosaic(photo, size, scale, rng):
  """Voronoi cells coloured by the photo at their seed, with dark joints."""
  count = int(1.0 / scale**2)
  seeds = rng.uniform(0, size, (count, 2)).astype(np.float32)
  y, x = _grid(size)
  points = np.stack([y.ravel(), x.ravel()], 1)
  distances = ((points[:, None, :] - seeds[None]) ** 2).sum(-1)
  labels = distances.argmin(1).reshape(size, size)
  seed_pixels = np.clip(seeds.astype(int), 0, size - 1)
  colors = _saturate(photo[seed_pixels[:, 0], seed_pixels[:, 1]], 2.2)
  image = colors[labels]
  joints = np.zeros([size, size], bool)
  joints[1:] |= labels[1:] != labels[:-1]
  joints[:, 1:] |= labels[:, 1:] != labels[:, :-1]
  image[joints] = 0.05
  return image


def _pointillism(photo, size, scale, rng):
  """Round dots of saturated photo colours on a light canvas."""
  radius = max(1.0, scale * size)
  count = int(2.5 * size * size / (np.pi * radius**2))
  image = np.full([size, size, 3], 0.93, np.float32)
  y, x = _grid(size)
  centres = rng.uniform(0, size, (count, 2))
  jitter = rng.normal(0, 0.08, (count, 3))
  for (cy, cx), noise in zip(centres, jitter):
    r = int(np.ceil(radius))
    top, left = max(0, int(cy) - r), max(0, int(cx) - r)
    bottom, right = min(size, int(cy) + r + 1), min(size, int(cx) + r + 1)
    inside = (
      (y[top:bottom, left:right] - cy) ** 2
      + (x[top:bottom, left:right] - cx) ** 2
    ) <= radius**2
    color = (
      _saturate(photo[min(int(cy), size - 1), min(int(cx), size - 1)], 2.5)
      + noise
    )
    image[top:bottom, left:right][inside] = np.clip(color, 0, 1)
  return image


def _hatching(photo, size, scale, rng):
  """Pen hatching: darker tones get more stroke directions."""
  period = max(3.0, scale * size)
  y, x = _grid(size)
  tone = _luminance(photo)
  ink = _saturate(photo, 1.5) * 0.45
  image = np.empty([size, size, 3], np.float32)
  image[:] = (0.96, 0.92, 0.82)  # Paper.
  angles = rng.uniform(0, np.pi, 3)
  for angle, threshold in zip(angles, (0.7, 0.5, 0.3)):
    phase = (x * np.cos(angle) + y * np.sin(angle)) % period
    strokes = (phase < 0.35 * period) & (tone < threshold)
    image[strokes] = ink[strokes]
  return image


def _posterized(photo, size, scale, rng):
  """Three levels per channel and black outlines where the photo has edges."""
  del scale, rng  # Deterministic.
  levels = np.round(_saturate(photo, 2.0) * 2.0) / 2.0
  tone = _luminance(photo)
  gy, gx = np.gradient(tone)
  edges = np.hypot(gy, gx)
  image = levels.astype(np.float32)
  image[edges > np.quantile(edges, 0.88)] = 0.0
  return image


def _waves(photo, size, scale, rng):
  """Bands of four photo colours along a wavy direction."""
  period = scale * size
  y, x = _grid(size)
  angle = rng.uniform(0, np.pi)
  wobble = 0.35 * period * np.sin(2 * np.pi * y / (2.3 * period))
  phase = ((x * np.cos(angle) + y * np.sin(angle) + wobble) / period) % 1.0
  palette = _palette(photo, 4)
  return palette[np.minimum((phase * 4).astype(int), 3)]


def _tiles(photo, size, scale, rng):
  """A rotated floor of square tiles in photo colours with light grout."""
  side = scale * size
  y, x = _grid(size)
  angle = rng.uniform(0.2, 0.6)
  u = (x * np.cos(angle) + y * np.sin(angle)) / side
  v = (-x * np.sin(angle) + y * np.cos(angle)) / side
  palette = _palette(photo, 5)
  tile = (np.floor(u).astype(int) * 7 + np.floor(v).astype(int) * 13) % 5
  image = palette[tile]
  grout = (np.abs(u - np.round(u)) < 0.06) | (np.abs(v - np.round(v)) < 0.06)
  image[grout] = 0.9
  return image


GENERATORS: Dict[str, Callable[..., np.ndarray]] = {
  "mosaic": _mosaic,
  "pointillism": _pointillism,
  "hatching": _hatching,
  "posterized": _posterized,
  "waves": _waves,
  "tiles": _tiles,
}
