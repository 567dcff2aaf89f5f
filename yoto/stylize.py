r"""Stylize images at any loss weights with one exported YOTO style module.

  python -m yoto.stylize --module=DIR --content=in.png --style=style.png \
      --content_weight=10 --style_weights=1e-3,1e-3,1e-2,1e-1 out.png
  python -m yoto.stylize --module=DIR --content=in.png --style=style.png \
      --grid=content_weight,style_weight_3 [--grid_size=4] grid.png

`--module` is a hub module exported by training (`model_dir/hub_modules/
step-XXXXXXXXX`) or a model_dir (its newest module). The weights are the raw
loss weights: `--content_weight` (content_loss) and `--style_weights`, one per
style layer (style_loss_1, ...). Weights left out take the centre of the
model's training range. A YOTO module accepts any weights of its training
range; a weight the model was not conditioned on (total variation; the style
weights of a content-only "specialist") is fixed. `--grid` stylizes over two
weights, each log-spaced over its whole range (the paper's Figure 7): the
first varies along the columns, the second along the rows.

Images are read with PIL (any format it knows) as RGB; `--max_size` shrinks
large content images, and an image of more than `--max_pixels` pixels
(default 4096x4096) is refused from its header, before it is decoded. Bad
images, weights out of range or of the wrong count are reported as one-line
errors (exit status 1), never as tracebacks.
"""

import argparse
import dataclasses
import functools
import json
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from yoto.training import export
from yoto.utils import arguments
from yoto.utils import image_files

COMMAND = 'yoto.stylize'
CONTENT_WEIGHT = 'content_weight'
CONTENT_LOSS = 'content_loss'




class StylizeError(ValueError):
  """Bad input from the user: reported without a traceback."""


def read_image(path: str, max_size: Optional[int] = None,
               max_pixels: int = image_files.DEFAULT_MAX_PIXELS
               ) -> np.ndarray:
  """An image file as float32 [H, W, 3] in [0, 1] (RGB).

  Raises:
    StylizeError: if the file is missing, not an image, or larger than
      `max_pixels` (checked from its header, before decoding).
  """
  import PIL.Image  # pylint: disable=g-import-not-at-top
  if not os.path.isfile(path):
    raise StylizeError(f'Image {path} does not exist.')
  try:
    image_files.check_file(path, max_pixels)
  except image_files.ImageTooLargeError as e:
    raise StylizeError(str(e)) from None
  try:
    with PIL.Image.open(path) as image:
      image = image.convert('RGB')
      if max_size and max(image.size) > max_size:
        scale = max_size / max(image.size)
        image = image.resize((max(1, round(image.size[0] * scale)),
                              max(1, round(image.size[1] * scale))),
                             PIL.Image.LANCZOS)
      array = np.asarray(image, np.float32) / 255.0
  except (OSError, ValueError, PIL.Image.DecompressionBombError) as e:
    raise StylizeError(f'{path} is not a readable image: {e}') from None
  return array


def write_image(path: str, image: np.ndarray) -> None:
  """Writes float [H, W, 3] in [0, 1] as an 8-bit image (format by suffix)."""
  import PIL.Image  # pylint: disable=g-import-not-at-top
  pixels = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  try:
    PIL.Image.fromarray(pixels).save(path)
  except (OSError, ValueError, KeyError) as e:
    raise StylizeError(f'Could not write {path}: {e}') from None


def weight_name(loss: str) -> str:
  """'content_loss' -> 'content_weight', 'style_loss_3' -> 'style_weight_3'."""
  return loss.replace('_loss', '_weight')


@dataclasses.dataclass
class Stylizer:
  """An exported style-transfer module and what its metadata says."""
  path: str
  module: object
  metadata: dict

  @classmethod
  def load(cls, path: str) -> 'Stylizer':
    """Loads a module (cached per path while its saved_model.pb is unchanged:
    a notebook or a test may stylize many times)."""
    path = export.resolve_hub_module(path)
    return cls._load(os.path.abspath(path),
                     os.path.getmtime(os.path.join(path, 'saved_model.pb')))

  @classmethod
  @functools.lru_cache(maxsize=1)  # Keep one module in memory.
  def _load(cls, path: str, mtime: float) -> 'Stylizer':
    del mtime  # Only part of the cache key.
    module = tf.saved_model.load(path)
    if not hasattr(module, 'stylize'):
      raise StylizeError(f'{path} is not a style-transfer module (it has no '
                         'stylize signature).')
    metadata = json.loads(module.metadata()['metadata'].numpy().decode())
    return cls(path, module, metadata)

  @property
  def conditioned_losses(self) -> List[str]:
    return list(self.metadata['conditioned_losses'])

  @property
  def style_losses(self) -> List[str]:
    return [f'style_loss_{i + 1}'
            for i in range(len(self.metadata['style_layers']))]

  @property
  def is_conditioned(self) -> bool:
    return self.metadata.get('preprocessing') is not None

  def range_of(self, loss: str) -> Optional[Tuple[float, float]]:
    """The training range of a loss's weight (None if not conditioned)."""
    if not self.is_conditioned or loss not in self.conditioned_losses:
      return None
    low, high = self.metadata['ranges'][loss]
    return float(low), float(high)

  def resolve_weights(self, content_weight: Optional[float] = None,
                      style_weights: Optional[Sequence[float]] = None
                      ) -> Dict[str, float]:
    """User weights -> {loss: weight} for content and style losses.

    Missing weights take their default (range centre, or the fixed value).

    Raises:
      StylizeError: a wrong count, a non-positive weight, a weight outside
        the training range, or a change to a weight the model cannot vary.
    """
    defaults = self.metadata['default_weights']
    weights = {n: float(defaults[n])
               for n in [CONTENT_LOSS] + self.style_losses}
    if content_weight is not None:
      weights[CONTENT_LOSS] = float(content_weight)
    if style_weights is not None:
      if len(style_weights) != len(self.style_losses):
        raise StylizeError(
            f'--style_weights needs {len(self.style_losses)} values, one per '
            f'style layer ({", ".join(self.metadata["style_layers"])}); got '
            f'{len(style_weights)}.')
      weights.update(zip(self.style_losses, map(float, style_weights)))
    for loss, value in weights.items():
      self._check(loss, value, float(defaults[loss]))
    return weights

  def _check(self, loss, value, default):
    name = weight_name(loss)
    if not np.isfinite(value) or value <= 0:
      raise StylizeError(f'{name} must be a positive number, got {value:g}.')
    if not self.is_conditioned:
      return  # A fixed-weight model ignores the weights.
    bounds = self.range_of(loss)
    if bounds is None:
      if not np.isclose(value, default, rtol=1e-3):
        raise StylizeError(
            f'This model was trained at a fixed {name} of {default:g}; it '
            f'cannot stylize at {value:g}. Weights it can vary: '
            f'{", ".join(weight_name(n) for n in self.conditioned_losses)}.')
      return
    low, high = bounds
    slack = 1e-5
    if not low * (1 - slack) <= value <= high * (1 + slack):
      raise StylizeError(
          f'{name}={value:g} is outside the model\'s training range '
          f'[{low:g}, {high:g}]; the model was never trained there.')

  def weight_vector(self, weights: Dict[str, float]) -> np.ndarray:
    """The module's `weights` input: the conditioned losses, in order."""
    return np.array([weights[n] for n in self.conditioned_losses], np.float32)

  def embed(self, style: np.ndarray) -> tf.Tensor:
    """[h, w, 3] style image -> [1, E] embedding."""
    return self.module.style_embedding(
        style=tf.constant(style[np.newaxis], tf.float32))['embedding']

  def stylize(self, content: np.ndarray, style: np.ndarray,
              weights: Dict[str, float]) -> np.ndarray:
    """One content image [H, W, 3] in one style at `weights`: [H, W, 3]."""
    return self.stylize_batch(content[np.newaxis], self.embed(style),
                              [weights])[0]

  def stylize_batch(self, content: np.ndarray, embedding: tf.Tensor,
                    weights: Sequence[Dict[str, float]]) -> np.ndarray:
    """Content [N or 1, H, W, 3] at N weight dicts (one embedding [1, E])."""
    vectors = np.stack([self.weight_vector(w) for w in weights])
    content = np.broadcast_to(content, (len(vectors),) + content.shape[1:])
    _check_size(content.shape[1:3], self.metadata.get('min_image_size', 8))
    return self.module.stylize_with_embedding(
        content=tf.constant(content, tf.float32), embedding=embedding,
        weights=tf.constant(vectors))['stylized'].numpy()


def load_named_image(name: str, size: Optional[int] = None) -> np.ndarray:
  """An image file, a generated style name or a bundled photo's name.

  Returns float32 [H, W, 3] in [0, 1]; generated styles and bundled photos
  are square, `size` pixels (default 128); files keep their size unless
  larger than `size`.
  """
  from yoto.utils import photo_patches  # pylint: disable=g-import-not-at-top
  from yoto.utils import styles  # pylint: disable=g-import-not-at-top
  if os.path.exists(name):
    return read_image(name, size)
  side = size or 128
  if name in styles.generated_style_names():
    return styles.generate_style(name, side).astype(np.float32) / 255.0
  try:
    photo = photo_patches.load_photo(name)
  except KeyError:
    photos = photo_patches.TRAIN_SOURCES + photo_patches.TEST_SOURCES
    raise StylizeError(
        f'{name!r} is neither an image file, nor a generated style '
        f'({", ".join(styles.generated_style_names())}), nor a bundled photo '
        f'({", ".join(photos)}).') from None
  return styles._resize(photo, side)  # pylint: disable=protected-access


def to_png(fig) -> bytes:
  """A matplotlib figure as PNG bytes."""
  import io  # pylint: disable=g-import-not-at-top
  buffer = io.BytesIO()
  fig.savefig(buffer, format='png', dpi=100)
  return buffer.getvalue()


def image_png(image: np.ndarray, scale: int = 1) -> bytes:
  """float [H, W, 3] in [0, 1] as PNG bytes, optionally enlarged."""
  import io  # pylint: disable=g-import-not-at-top
  import PIL.Image  # pylint: disable=g-import-not-at-top
  pixels = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
  picture = PIL.Image.fromarray(pixels)
  if scale > 1:
    picture = picture.resize((picture.width * scale, picture.height * scale),
                             PIL.Image.NEAREST)
  buffer = io.BytesIO()
  picture.save(buffer, format='PNG')
  return buffer.getvalue()


def weight_sliders(stylizer: Stylizer, weights: Dict[str, float],
                   on_change) -> Optional[object]:
  """ipywidgets log-scale sliders, one per weight the model can vary.

  Calls `on_change(weights)` with the full weight dict whenever a slider
  moves. Returns the widget box, or None when ipywidgets is not installed
  (Colab has it; `pip install ipywidgets` elsewhere).
  """
  try:
    import ipywidgets  # pylint: disable=g-import-not-at-top
  except ImportError:
    return None
  current = dict(weights)
  sliders = []
  for loss in (stylizer.conditioned_losses if stylizer.is_conditioned
               else []):
    low, high = stylizer.range_of(loss)
    slider = ipywidgets.FloatLogSlider(
        value=current[loss], base=10, min=np.log10(low), max=np.log10(high),
        step=(np.log10(high) - np.log10(low)) / 60,
        description=weight_name(loss), continuous_update=False,
        readout_format='.3g')

    def changed(change, loss=loss):
      current[loss] = float(change['new'])
      on_change(dict(current))

    slider.observe(changed, names='value')
    sliders.append(slider)
  return ipywidgets.VBox(sliders)


def _check_size(shape, minimum):
  if min(shape) < minimum:
    raise StylizeError(f'Images must be at least {minimum}x{minimum} pixels; '
                       f'got {shape[0]}x{shape[1]}.')


@dataclasses.dataclass
class WeightGrid:
  """Stylizations over two weights: images[row][col] [H, W, 3]."""
  column_weight: str
  row_weight: str
  column_values: List[float]
  row_values: List[float]
  images: np.ndarray  # [rows, cols, H, W, 3]
  weights: List[List[Dict[str, float]]]


def grid_loss(stylizer: Stylizer, name: str) -> str:
  """A grid axis name ('content_weight', 'style_weight_3') -> its loss."""
  options = {weight_name(n): n for n in [CONTENT_LOSS] + stylizer.style_losses}
  if name not in options:
    raise StylizeError(f'Unknown grid weight {name!r}; choose among '
                       f'{", ".join(options)}.')
  loss = options[name]
  if stylizer.range_of(loss) is None:
    variable = ', '.join(weight_name(n) for n in stylizer.conditioned_losses)
    raise StylizeError(
        f'{name} is fixed in this model; it can vary ' +
        (variable if stylizer.is_conditioned else
         'no weight (a fixed-weight model)') + '.')
  return loss


def weight_grid(stylizer: Stylizer, content: np.ndarray, style: np.ndarray,
                column_weight: str, row_weight: str, size: int = 4,
                base: Optional[Dict[str, float]] = None) -> WeightGrid:
  """Stylizes `content` with `style` over a size x size grid of two weights.

  Each weight is log-spaced over its training range; the others stay at
  `base` (default: the range centres).
  """
  if size < 2:
    raise StylizeError(f'--grid_size must be at least 2, got {size}.')
  column_loss = grid_loss(stylizer, column_weight)
  row_loss = grid_loss(stylizer, row_weight)
  if column_loss == row_loss:
    raise StylizeError('--grid needs two different weights.')
  base = dict(base or stylizer.resolve_weights())
  spaced = lambda loss: [float(v) for v in np.geomspace(
      *stylizer.range_of(loss), size)]
  columns, rows = spaced(column_loss), spaced(row_loss)
  weights = [[{**base, column_loss: c, row_loss: r} for c in columns]
             for r in rows]
  embedding = stylizer.embed(style)
  flat = stylizer.stylize_batch(content[np.newaxis], embedding,
                                [w for row in weights for w in row])
  images = flat.reshape((size, size) + flat.shape[1:])
  return WeightGrid(column_weight, row_weight, columns, rows, images, weights)


def grid_figure(grid: WeightGrid, content: Optional[np.ndarray] = None,
                style: Optional[np.ndarray] = None):
  """A matplotlib Figure of the grid with the weight values on the axes.

  Built on the Agg canvas, never through pyplot: it renders headless and
  leaves a notebook's backend alone. The content and style images, when
  given, fill an extra first column.
  """
  from matplotlib.backends import backend_agg  # pylint: disable=g-import-not-at-top
  from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top
  rows, cols = grid.images.shape[:2]
  extra = 1 if content is not None or style is not None else 0
  fig = Figure(figsize=(1.6 * (cols + extra), 1.6 * rows + 0.4), dpi=100)
  backend_agg.FigureCanvasAgg(fig)
  axes = fig.subplots(rows, cols + extra, squeeze=False)
  for r in range(rows):
    for c in range(cols):
      ax = axes[r][c + extra]
      ax.imshow(np.clip(grid.images[r, c], 0, 1))
      ax.set_xticks([])
      ax.set_yticks([])
      if r == rows - 1:
        ax.set_xlabel(f'{grid.column_values[c]:.3g}')
      if c == 0:
        ax.set_ylabel(f'{grid.row_values[r]:.3g}')
    if extra:
      axes[r][0].axis('off')
  if extra:
    for row, (image, title) in enumerate([(content, 'content'),
                                          (style, 'style')][:rows]):
      if image is not None:
        axes[row][0].imshow(np.clip(image, 0, 1))
        axes[row][0].set_title(title, fontsize=8)
  fig.supxlabel(grid.column_weight)
  fig.supylabel(grid.row_weight)
  fig.tight_layout()
  return fig


def save_figure(fig, path: str) -> None:
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=100)


def _parser() -> arguments.ArgumentParser:
  parser = arguments.ArgumentParser(
      COMMAND, description='Stylize an image at any loss weights with one '
      'exported YOTO style-transfer module.')
  parser.add_argument('--module', required=True,
                      help='hub module directory, or a model_dir (newest '
                      'module)')
  parser.add_argument('--content', required=True, help='content image file')
  parser.add_argument('--style', required=True, help='style image file')
  parser.add_argument('--content_weight', type=arguments.number, default=None,
                      help='content loss weight (default: centre of range)')
  parser.add_argument('--style_weights', type=arguments.numbers, default=None,
                      help='comma-separated style loss weights, one per '
                      'style layer (default: centres of their ranges)')
  parser.add_argument('--grid', default=None,
                      help='two weights to sweep, e.g. '
                      'content_weight,style_weight_3: writes a grid figure')
  parser.add_argument('--grid_size', type=int, default=4,
                      help='values per grid axis')
  parser.add_argument('--max_size', type=int, default=512,
                      help='shrink content images larger than this (pixels)')
  parser.add_argument('--max_pixels', type=arguments.positive_int,
                      default=image_files.DEFAULT_MAX_PIXELS,
                      help=image_files.MAX_PIXELS_HELP)
  parser.add_argument('output', help='output image (or grid figure) path')
  return parser


def run(args: argparse.Namespace) -> str:
  """Does what the arguments say; returns a one-line summary."""
  content = read_image(args.content, args.max_size, args.max_pixels)
  style = read_image(args.style, args.max_size, args.max_pixels)
  names = [n.strip() for n in args.grid.split(',')] if args.grid else []
  if args.grid and len(names) != 2:
    raise StylizeError('--grid takes two weight names, e.g. '
                       f'content_weight,style_weight_3; got {args.grid!r}.')
  stylizer = Stylizer.load(args.module)
  _check_size(content.shape[:2], stylizer.metadata.get('min_image_size', 8))
  _check_size(style.shape[:2], stylizer.metadata.get('min_image_size', 8))
  weights = stylizer.resolve_weights(args.content_weight, args.style_weights)
  if args.grid:
    grid = weight_grid(stylizer, content, style, names[0], names[1],
                       args.grid_size, base=weights)
    save_figure(grid_figure(grid, content, style), args.output)
    return (f'Wrote a {args.grid_size}x{args.grid_size} grid over '
            f'{names[0]} (columns) and {names[1]} (rows) to {args.output}.')
  stylized = stylizer.stylize(content, style, weights)
  write_image(args.output, stylized)
  described = ', '.join(f'{weight_name(k)}={v:g}' for k, v in weights.items())
  return f'Wrote {args.output} ({described}).'


USER_ERRORS = (StylizeError, export.HubModuleNotFoundError,
               tf.errors.InvalidArgumentError)


def main(argv: Optional[Sequence[str]] = None) -> int:
  """Stylizes; returns the exit status (1 on a user error)."""
  return arguments.run(COMMAND, _parser(), run,
                       sys.argv[1:] if argv is None else argv, USER_ERRORS)


if __name__ == '__main__':
  arguments.run_app(COMMAND, _parser, run, USER_ERRORS)
