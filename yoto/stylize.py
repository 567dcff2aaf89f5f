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

Images are read with `yoto.utils.image_files` (any format PIL knows, as
RGB) and the module is run through its client, `yoto.clients.stylizer`.
`--max_size` shrinks large content images, and an image of more than
`--max_pixels` pixels (default 4096x4096) is refused from its header, before
it is decoded. Bad images, weights out of range or of the wrong count are
reported as one-line errors (exit status 1), never as tracebacks.
"""

import argparse
import dataclasses
import os
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from yoto.analysis import plots
from yoto.clients import base
from yoto.clients import stylizer as stylizer_lib
from yoto.utils import arguments
from yoto.utils import image_files

COMMAND = "yoto.stylize"
DEFAULT_SIDE = 128  # Of generated styles and bundled photos.


def _read_image(
  path: str,
  max_size: Optional[int] = None,
  max_pixels: int = image_files.DEFAULT_MAX_PIXELS,
) -> np.ndarray:
  """An image file as float32 [H, W, 3] in [0, 1] (`image_files.read_image`)."""
  pixels = image_files.read_image(path, max_pixels, max_size)
  return pixels.astype(np.float32) / 255.0


def load_named_image(name: str, size: Optional[int] = None) -> np.ndarray:
  """An image file, a generated style name or a bundled photo's name.

  Returns float32 [H, W, 3] in [0, 1]; generated styles and bundled photos
  are square, `size` pixels (default 128); files keep their size unless
  larger than `size`.

  Raises:
    StylizeError: if `name` is none of these.
  """
  from yoto.utils import photo_patches  # pylint: disable=g-import-not-at-top
  from yoto.utils import styles  # pylint: disable=g-import-not-at-top

  if os.path.exists(name):
    return _read_image(name, size)
  side = size or DEFAULT_SIDE
  if name in styles.generated_style_names():
    return styles.generate_style(name, side).astype(np.float32) / 255.0
  try:
    photo = photo_patches.load_photo(name)
  except KeyError:
    photos = photo_patches.TRAIN_SOURCES + photo_patches.TEST_SOURCES
    raise stylizer_lib.StylizeError(
      f"{name!r} is neither an image file, nor a generated style "
      f"({', '.join(styles.generated_style_names())}), nor a bundled photo "
      f"({', '.join(photos)})."
    ) from None
  return image_files.centre_square(photo, side)


def weight_sliders(
  stylizer: stylizer_lib.Stylizer, weights: Dict[str, float], on_change
) -> Optional[object]:
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
  for loss in stylizer.conditioned_losses if stylizer.is_conditioned else []:
    low, high = stylizer.range_of(loss)
    slider = ipywidgets.FloatLogSlider(
      value=current[loss],
      base=10,
      min=np.log10(low),
      max=np.log10(high),
      step=(np.log10(high) - np.log10(low)) / 60,
      description=stylizer_lib.weight_name(loss),
      continuous_update=False,
      readout_format=".3g",
    )

    def changed(change, loss=loss):
      current[loss] = float(change["new"])
      on_change(dict(current))

    slider.observe(changed, names="value")
    sliders.append(slider)
  return ipywidgets.VBox(sliders)


@dataclasses.dataclass
class WeightGrid:
  """Stylizations over two weights: images[row][col] [H, W, 3]."""

  column_weight: str
  row_weight: str
  column_values: List[float]
  row_values: List[float]
  images: np.ndarray  # [rows, cols, H, W, 3]
  weights: List[List[Dict[str, float]]]


def grid_loss(stylizer: stylizer_lib.Stylizer, name: str) -> str:
  """A grid axis name ('content_weight', 'style_weight_3') -> its loss."""
  options = {
    stylizer_lib.weight_name(n): n
    for n in [stylizer_lib.CONTENT_LOSS] + stylizer.style_losses
  }
  if name not in options:
    raise stylizer_lib.StylizeError(
      f"Unknown grid weight {name!r}; choose among {', '.join(options)}."
    )
  loss = options[name]
  if stylizer.range_of(loss) is None:
    variable = ", ".join(
      stylizer_lib.weight_name(n) for n in stylizer.conditioned_losses
    )
    raise stylizer_lib.StylizeError(
      f"{name} is fixed in this model; it can vary "
      + (
        variable
        if stylizer.is_conditioned
        else "no weight (a fixed-weight model)"
      )
      + "."
    )
  return loss


def weight_grid(
  stylizer: stylizer_lib.Stylizer,
  content: np.ndarray,
  style: np.ndarray,
  column_weight: str,
  row_weight: str,
  size: int = 4,
  base: Optional[Dict[str, float]] = None,
) -> WeightGrid:
  """Stylizes `content` with `style` over a size x size grid of two weights.

  Each weight is log-spaced over its training range; the others stay at
  `base` (default: the range centres).
  """
  if size < 2:
    raise stylizer_lib.StylizeError(
      f"--grid_size must be at least 2, got {size}."
    )
  column_loss = grid_loss(stylizer, column_weight)
  row_loss = grid_loss(stylizer, row_weight)
  if column_loss == row_loss:
    raise stylizer_lib.StylizeError("--grid needs two different weights.")
  base = dict(base or stylizer.resolve_weights())
  spaced = lambda loss: [
    float(v) for v in np.geomspace(*stylizer.range_of(loss), size)
  ]
  columns, rows = spaced(column_loss), spaced(row_loss)
  weights = [
    [{**base, column_loss: c, row_loss: r} for c in columns] for r in rows
  ]
  embedding = stylizer.embed(style)
  flat = stylizer.stylize_batch(
    content[np.newaxis], embedding, [w for row in weights for w in row]
  )
  images = flat.reshape((size, size) + flat.shape[1:])
  return WeightGrid(column_weight, row_weight, columns, rows, images, weights)


def grid_figure(
  grid: WeightGrid,
  content: Optional[np.ndarray] = None,
  style: Optional[np.ndarray] = None,
):
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
        ax.set_xlabel(f"{grid.column_values[c]:.3g}")
      if c == 0:
        ax.set_ylabel(f"{grid.row_values[r]:.3g}")
    if extra:
      axes[r][0].axis("off")
  if extra:
    for row, (image, title) in enumerate(
      [(content, "content"), (style, "style")][:rows]
    ):
      if image is not None:
        axes[row][0].imshow(np.clip(image, 0, 1))
        axes[row][0].set_title(title, fontsize=8)
  fig.supxlabel(grid.column_weight)
  fig.supylabel(grid.row_weight)
  fig.tight_layout()
  return fig


def _parser() -> arguments.ArgumentParser:
  parser = arguments.ArgumentParser(
    COMMAND,
    description="Stylize an image at any loss weights with one "
    "exported YOTO style-transfer module.",
  )
  parser.add_argument(
    "--module",
    required=True,
    help="hub module directory, or a model_dir (newest module)",
  )
  parser.add_argument("--content", required=True, help="content image file")
  parser.add_argument("--style", required=True, help="style image file")
  parser.add_argument(
    "--content_weight",
    type=arguments.number,
    default=None,
    help="content loss weight (default: centre of range)",
  )
  parser.add_argument(
    "--style_weights",
    type=arguments.numbers,
    default=None,
    help="comma-separated style loss weights, one per "
    "style layer (default: centres of their ranges)",
  )
  parser.add_argument(
    "--grid",
    default=None,
    help="two weights to sweep, e.g. "
    "content_weight,style_weight_3: writes a grid figure",
  )
  parser.add_argument(
    "--grid_size", type=int, default=4, help="values per grid axis"
  )
  parser.add_argument(
    "--max_size",
    type=int,
    default=512,
    help="shrink content images larger than this (pixels)",
  )
  parser.add_argument(
    "--max_pixels",
    type=arguments.positive_int,
    default=image_files.DEFAULT_MAX_PIXELS,
    help=image_files.MAX_PIXELS_HELP,
  )
  parser.add_argument("output", help="output image (or grid figure) path")
  return parser


def run(args: argparse.Namespace) -> str:
  """Does what the arguments say; returns a one-line summary."""
  content = _read_image(args.content, args.max_size, args.max_pixels)
  style = _read_image(args.style, args.max_size, args.max_pixels)
  names = [n.strip() for n in args.grid.split(",")] if args.grid else []
  if args.grid and len(names) != 2:
    raise stylizer_lib.StylizeError(
      "--grid takes two weight names, e.g. content_weight,style_weight_3; "
      f"got {args.grid!r}."
    )
  stylizer = stylizer_lib.Stylizer.load(args.module)
  stylizer.check_image_size(content.shape)
  stylizer.check_image_size(style.shape)
  weights = stylizer.resolve_weights(args.content_weight, args.style_weights)
  if args.grid:
    grid = weight_grid(
      stylizer, content, style, names[0], names[1], args.grid_size, base=weights
    )
    plots.save(grid_figure(grid, content, style), args.output)
    return (
      f"Wrote a {args.grid_size}x{args.grid_size} grid over "
      f"{names[0]} (columns) and {names[1]} (rows) to {args.output}."
    )
  stylized = stylizer.stylize(content, style, weights)
  image_files.write_image(args.output, stylized)
  described = ", ".join(
    f"{stylizer_lib.weight_name(k)}={v:g}" for k, v in weights.items()
  )
  return f"Wrote {args.output} ({described})."


# A module's own checks (an image it cannot take) fail as op errors.
USER_ERRORS = base.USER_ERRORS + (tf.errors.InvalidArgumentError,)


def main(argv: Optional[Sequence[str]] = None) -> int:
  """Stylizes; returns the exit status (1 on a user error)."""
  return arguments.run(
    COMMAND, _parser(), run, sys.argv[1:] if argv is None else argv, USER_ERRORS
  )


if __name__ == "__main__":
  arguments.run_app(COMMAND, _parser, run, USER_ERRORS)
