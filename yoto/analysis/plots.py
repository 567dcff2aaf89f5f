"""Matplotlib figures of YOTO results, written as PNG files.

  image_grid_figure   inputs, reconstructions and samples per β (Figure 3 of
                      the paper) from a `vae_outputs.BetaGrid`, or one part
                      of it: inputs_figure, reconstructions_figure,
                      samples_figure;
  frontier_figure     one loss against the other for YOTO, the fixed-weight
                      models and the single-model baseline, with each
                      method's computed Pareto frontier (Figure 2, left);
  full_loss_figure    full_loss(method) - full_loss(fixed model at β)
                      against log2 β (Figure 2, right).

Figures are built on `matplotlib.figure.Figure` with the Agg canvas and
never through pyplot, so they render headless, leave pyplot's global state
(and a notebook's backend) alone, and need no display. In a notebook show
one with `IPython.display.Image(to_png(figure))`.
"""

import io
import math
import os
from typing import Optional, Sequence

from matplotlib.backends import backend_agg
from matplotlib.figure import Figure
import numpy as np

from yoto.analysis import frontier

METHOD_STYLES = {
  "YOTO": dict(color="tab:blue", marker="o"),
  "Fixed weights": dict(color="tab:orange", marker="s"),
  "Single model": dict(color="tab:green", marker="^"),
}


def _figure(width: float, height: float) -> Figure:
  figure = Figure(figsize=(width, height), dpi=100)
  backend_agg.FigureCanvasAgg(figure)
  return figure


def save(figure: Figure, path: str, dpi: int = 100) -> str:
  """Writes `figure` as a PNG at `path` (creating folders); returns path."""
  parent = os.path.dirname(path)
  if parent:
    os.makedirs(parent, exist_ok=True)
  figure.savefig(path, dpi=dpi, format="png", bbox_inches="tight")
  return path


def to_png(figure: Figure, dpi: int = 100) -> bytes:
  """The figure as PNG bytes (for IPython.display.Image)."""
  buffer = io.BytesIO()
  figure.savefig(buffer, dpi=dpi, format="png", bbox_inches="tight")
  return buffer.getvalue()


# Image grids.


def to_unit_range(
  images: np.ndarray, value_range: Sequence[float]
) -> np.ndarray:
  """Maps images from `value_range` to [0, 1] for display, clipping."""
  low, high = value_range
  return np.clip((np.asarray(images, np.float32) - low) / (high - low), 0, 1)


def tile(rows: np.ndarray, pad: int = 2, fill: float = 1.0) -> np.ndarray:
  """Tiles [R, N, H, W, C] images into one [R(H+pad)-pad, N(W+pad)-pad, C]."""
  num_rows, num_cols, height, width, channels = rows.shape
  mosaic = np.full(
    (num_rows * (height + pad) - pad, num_cols * (width + pad) - pad, channels),
    fill,
    np.float32,
  )
  for r in range(num_rows):
    for c in range(num_cols):
      top, left = r * (height + pad), c * (width + pad)
      mosaic[top : top + height, left : left + width] = rows[r, c]
  return mosaic


def _show_mosaic(axes, rows, row_labels, title):
  mosaic = tile(rows)
  height = rows.shape[2]
  if mosaic.shape[-1] == 1:
    axes.imshow(
      mosaic[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest"
    )
  else:
    axes.imshow(mosaic, interpolation="nearest")
  axes.set_yticks([r * (height + 2) + height / 2 for r in range(len(rows))])
  axes.set_yticklabels(row_labels)
  axes.set_xticks([])
  axes.tick_params(length=0)
  for spine in axes.spines.values():
    spine.set_visible(False)
  axes.set_title(title)


def beta_label(beta: float, name: str = "β") -> str:
  return f"{name} = {beta:.3g}"


def rows_figure(
  rows: np.ndarray,
  row_labels: Sequence[str],
  title: str,
  value_range: Sequence[float] = (0.0, 1.0),
) -> Figure:
  """One panel of image rows [R, N, H, W, C], each row labelled."""
  rows = to_unit_range(rows, value_range)
  figure = _figure(1.2 + 0.55 * rows.shape[1], 0.7 + 0.55 * rows.shape[0])
  _show_mosaic(figure.subplots(), rows, row_labels, title)
  return figure


def inputs_figure(grid, max_columns: int = 8) -> Figure:
  """The input images of a `vae_outputs.BetaGrid`."""
  return rows_figure(
    grid.inputs[None, :max_columns], ["input"], "Inputs", grid.value_range
  )


def reconstructions_figure(grid, max_columns: int = 8) -> Figure:
  """Inputs, then their reconstructions at each β, one row per β."""
  rows = np.concatenate(
    [grid.inputs[None, :max_columns], grid.reconstructions[:, :max_columns]]
  )
  return rows_figure(
    rows, ["input"] + _beta_labels(grid), "Reconstructions", grid.value_range
  )


def samples_figure(grid, max_columns: int = 8) -> Figure:
  """Samples at each β, one row per β; column j always decodes noise j."""
  return rows_figure(
    grid.samples[:, :max_columns],
    _beta_labels(grid),
    "Samples (same noise for every β)",
    grid.value_range,
  )


def _beta_labels(grid):
  return [beta_label(b) for b in grid.betas]


def image_grid_figure(grid, max_columns: int = 8) -> Figure:
  """Figure 3: inputs and reconstructions per β (left), samples (right).

  Args:
    grid: a `vae_outputs.BetaGrid` (or anything with its attributes).
    max_columns: at most this many images per row.

  Returns:
    The Figure.
  """
  inputs = to_unit_range(grid.inputs[:max_columns], grid.value_range)
  recons = to_unit_range(
    grid.reconstructions[:, :max_columns], grid.value_range
  )
  samples = to_unit_range(grid.samples[:, :max_columns], grid.value_range)
  labels = _beta_labels(grid)
  num_rows = len(grid.betas) + 1
  columns = inputs.shape[0] + samples.shape[1]
  figure = _figure(1.2 + 0.55 * columns, 0.9 + 0.55 * num_rows)
  left, right = figure.subplots(
    1, 2, gridspec_kw=dict(width_ratios=[inputs.shape[0], samples.shape[1]])
  )
  _show_mosaic(
    left,
    np.concatenate([inputs[None], recons]),
    ["input"] + labels,
    "Reconstructions",
  )
  blank = np.ones_like(samples[:1])  # Keeps the rows aligned with the left.
  _show_mosaic(
    right,
    np.concatenate([blank, samples]),
    [""] + labels,
    "Samples (same noise for every β)",
  )
  if grid.title:
    figure.suptitle(grid.title)
  return figure


# Frontier and full loss.


def _scatter(axes, points, name, annotate, beta_name):
  if not points:
    return
  style = METHOD_STYLES[name]
  xy = np.array([(p.x, p.y) for p in points])
  axes.scatter(xy[:, 0], xy[:, 1], label=name, alpha=0.8, zorder=3, **style)
  front = frontier.pareto_front(xy)
  if len(front) > 1:
    axes.plot(
      xy[front, 0],
      xy[front, 1],
      color=style["color"],
      lw=1.5,
      zorder=2,
      label=f"{name} frontier",
    )
  if annotate:
    for point in points:
      axes.annotate(
        f"{beta_name}={point.beta:.3g}",
        (point.x, point.y),
        textcoords="offset points",
        xytext=(4, 4),
        fontsize=7,
        color=style["color"],
      )


def frontier_figure(
  comparison: frontier.Comparison, title: Optional[str] = None
) -> Figure:
  """Figure 2 (left): y loss against x loss, with each method's frontier."""
  axes_spec = comparison.axes
  figure = _figure(6.4, 4.8)
  axes = figure.subplots()
  name = axes_spec.beta_label
  _scatter(axes, comparison.yoto_points(), "YOTO", True, name)
  _scatter(axes, comparison.fixed_points(), "Fixed weights", True, name)
  _scatter(axes, comparison.single_model_points(), "Single model", False, name)
  axes.set_xlabel(axes_spec.x)
  axes.set_ylabel(axes_spec.y)
  axes.grid(alpha=0.3)
  axes.legend(fontsize=8)
  axes.set_title(title or _run_title(comparison))
  return figure


def full_loss_figure(
  comparison: frontier.Comparison, title: Optional[str] = None
) -> Figure:
  """Figure 2 (right): full-loss difference to the fixed model at each β."""
  figure = _figure(6.4, 4.8)
  axes = figure.subplots()
  axes.axhline(
    0.0,
    color=METHOD_STYLES["Fixed weights"]["color"],
    lw=1,
    label="Fixed weights (reference)",
  )
  rows = [r for r in comparison.rows if r.fixed is not None]
  for name, gap in (
    ("YOTO", lambda r: r.yoto_gap),
    ("Single model", lambda r: r.single_model_gap),
  ):
    style = METHOD_STYLES[name]
    xs = [math.log2(r.beta) for r in rows]
    axes.plot(xs, [gap(r) for r in rows], label=name, **style)
  if not rows:
    axes.text(
      0.5,
      0.5,
      "No fixed-weight model was trained at a\n"
      "β of the eval grid: nothing to compare with.",
      ha="center",
      va="center",
      transform=axes.transAxes,
    )
  name = comparison.axes.beta_label
  axes.set_xlabel(f"log2 {name}")
  axes.set_ylabel(f"full loss − full loss of fixed model at that {name}")
  axes.grid(alpha=0.3)
  axes.legend(fontsize=8)
  axes.set_title(title or _run_title(comparison))
  return figure


def _run_title(comparison: frontier.Comparison) -> str:
  yoto = comparison.yoto
  count = len(comparison.fixed)
  return (
    f"{yoto.name} (step {yoto.step}) vs {count} fixed-weight "
    f"model{'' if count == 1 else 's'}, split {yoto.split!r}"
  )
