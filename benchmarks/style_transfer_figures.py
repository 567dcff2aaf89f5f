"""Figures of the style-transfer reproduction's report (`style_transfer_report`
computes what they show): the gaps to the fixed models per point, their
learning curves, and the paper's Figure 7 from the trained models."""

from typing import Optional

from matplotlib.backends import backend_agg
from matplotlib.figure import Figure
import numpy as np

from benchmarks import reproduction
from benchmarks import style_transfer_points as weight_points
from yoto.analysis import seed_statistics


def _figure(width: float, height: float) -> Figure:
  figure = Figure(figsize=(width, height), dpi=100)
  backend_agg.FigureCanvasAgg(figure)
  return figure


def learning_curves_figure(curves, fixed, methods, title) -> Figure:
  """Each method's full-loss gap to the fixed model at every point against
  training steps, relative to the fixed loss, mean ± 95 % interval."""
  figure = _figure(5.5 * len(methods), 4.2)
  for axes, method in zip(
    figure.subplots(1, len(methods), squeeze=False)[0], methods
  ):
    for point in sorted(fixed):
      gaps = seed_statistics.relative_gap_curve(curves, fixed, method, point)
      if not gaps:
        continue
      rows = [
        (s, 100 * g.mean, 100 * (g.half_width or 0.0)) for s, g in gaps.items()
      ]
      steps, means, half = (np.array(c) for c in zip(*rows))
      (line,) = axes.plot(steps, means, marker="o", label=point.name)
      axes.fill_between(
        steps, means - half, means + half, alpha=0.15, color=line.get_color()
      )
    axes.axhline(0.0, color="black", lw=0.8)
    axes.set_xlabel("training step")
    axes.set_ylabel(f"{method} − fixed full loss (% of fixed)")
    axes.set_title(method, fontsize=9)
    axes.legend(fontsize=7)
  figure.suptitle(title, fontsize=9)
  return figure


def gaps_figure(rows, baseline, title) -> Figure:
  """Figure 6a in full loss: every method's relative gap at every point,
  mean ± 95 % interval over seeds (`baseline`: the single fixed model)."""
  figure = _figure(8, 4.5)
  axes = figure.subplots()
  methods = list(rows[0]["gaps"]) if rows else []
  width = 0.8 / max(1, len(methods))
  for i, method in enumerate(methods):
    xs, means, half = [], [], []
    for x, row in enumerate(rows):
      gap, fixed = row["gaps"][method], row["fixed"]
      if gap is not None and fixed and fixed.mean:
        relative = gap.scaled(100 / abs(fixed.mean))
        xs.append(x + (i - (len(methods) - 1) / 2) * width)
        means.append(relative.mean)
        half.append(relative.half_width or 0.0)
    axes.errorbar(
      xs,
      means,
      yerr=half,
      fmt="o",
      capsize=3,
      label=(
        f"single model ({baseline})" if method == "single_model" else method
      ),
    )
  axes.axhline(0.0, color="black", lw=0.8)
  axes.set_xticks(range(len(rows)), [r["label"].name for r in rows], fontsize=8)
  axes.set_ylabel("method − fixed full loss (% of fixed)")
  axes.set_title(title, fontsize=9)
  axes.grid(alpha=0.3, axis="y")
  axes.legend(fontsize=7)
  return figure


def _stylized(state, content, point: Optional[weight_points.WeightPoint]):
  """image_summaries of `state` for `content`, YOTO conditioned on
  `point`'s weights (None: a fixed model)."""
  inputs_extra = None
  if point is not None:
    vector = [w for _, w in point.weights]
    inputs_extra = (
      state.multi_loss_optimizer.conditioning.weights_to_inputs_extra(
        vector, batch_size=content.shape[0], check_range=False
      )
    )
  return state.problem.image_summaries(
    {state.problem.features_key: content}, inputs_extra
  )


def figure7(specs, points, seed_root, shared, content, title) -> Figure:
  """The paper's Figure 7 from the fixed models and from YOTO side by side:
  per example and swept weight a row (content, style, the fixed models at
  ÷10, default, x10, then YOTO at the same weights)."""
  by_name = {s.name: s for s in specs}
  restore = lambda name: reproduction.restore_state(
    by_name[name], seed_root, shared, content.shape[1:], content.shape[0]
  )
  yoto = restore("yoto")
  lines = sorted(
    {p.varied for p in points if p.varied},
    key=lambda loss: next(p.order for p in points if p.varied == loss),
  )
  line_points = {
    loss: sorted(p for p in points if weight_points.on_line(p, loss))
    for loss in lines
  }
  line_points = {k: [v[1], v[0], v[2]] for k, v in line_points.items()}
  fixed = {
    p.model: _stylized(restore(p.model), content, None)["stylized"]
    for p in points
  }
  rows = []  # Per swept weight: names and images [B, H, W, 3].
  for loss in lines:
    first = _stylized(yoto, content, line_points[loss][1])
    rows.append(
      (
        ["content", "style"]
        + [
          f"{who}\n{p.name}"
          for who in ("fixed", "YOTO")
          for p in line_points[loss]
        ],
        [first["content"], first["style"]]
        + [fixed[p.model] for p in line_points[loss]]
        + [_stylized(yoto, content, p)["stylized"] for p in line_points[loss]],
      )
    )
  figure = _figure(
    1.3 * len(rows[0][0]), 1.4 * len(rows) * content.shape[0] + 0.6
  )
  axes = figure.subplots(
    len(rows) * content.shape[0], len(rows[0][0]), squeeze=False
  )
  for example in range(content.shape[0]):
    for i, (names, images) in enumerate(rows):
      for column, (name, image) in enumerate(zip(names, images)):
        ax = axes[example * len(rows) + i, column]
        ax.imshow(np.clip(np.asarray(image[example]), 0, 1))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(name, fontsize=7)
  figure.suptitle(title, fontsize=9)
  return figure
