"""Pareto frontiers and the full-loss comparison of the YOTO paper.

The paper (Dosovitskiy & Djolonga, ICLR 2020, Figure 2) judges one YOTO
model against a sweep of fixed-weight models in two ways:
  * the frontier: one loss against the other (for the β-VAE, reconstruction
    loss against KL), one point per β for YOTO and one per fixed model. The
    Pareto frontier of each method is computed from its points, not assumed:
    an undertrained model need not trade the losses off monotonically.
  * the full loss `Σ_i w_i L_i` at each β, relative to the fixed model
    trained at that β: `full_loss(method) - full_loss(fixed model at β)`,
    against log2 β. Zero means "as good as a model trained for this β".
Besides YOTO, the comparison includes the paper's single-model baseline:
the one fixed model that is best on average over the β grid (lowest mean
full loss), evaluated at every β.

Nothing here is specific to the VAE: `LossAxes` names the two losses and
the one whose weight is β, so rate/distortion compression reuses it.
"""

import dataclasses
import math
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from yoto.analysis import metrics

FULL_LOSS = "full_loss"


@dataclasses.dataclass(frozen=True)
class LossAxes:
  """Which losses go on the axes, and which weight is the trade-off β.

  Attributes:
    x: loss on the horizontal axis.
    y: loss on the vertical axis.
    beta_loss: the loss whose weight, relative to the weight of the other
      axis loss, is β. For the β-VAE, `kl_loss` (weights [β, 1]).
    beta_label: how β is called in labels.
  """

  x: str = "kl_loss"
  y: str = "reconstruction_loss"
  beta_loss: str = "kl_loss"
  beta_label: str = "β"

  def __post_init__(self):
    if self.x == self.y:
      raise ValueError(
        f"The two axes need different losses, got {self.x!r} twice."
      )
    if self.beta_loss not in (self.x, self.y):
      raise ValueError(
        f"beta_loss={self.beta_loss!r} must be one of the axis "
        f"losses {self.x!r} and {self.y!r}."
      )

  @property
  def other_loss(self) -> str:
    return self.y if self.beta_loss == self.x else self.x

  def beta(self, weights: Mapping[str, float]) -> float:
    """β of a weights dict: w[beta_loss] / w[other axis loss]."""
    return float(weights[self.beta_loss]) / float(weights[self.other_loss])

  def check(self, loss_names: Sequence[str]) -> None:
    missing = [n for n in (self.x, self.y) if n not in loss_names]
    if missing:
      raise metrics.MetricsError(
        f"The runs have no loss {', '.join(map(repr, missing))}; their "
        f"losses are {', '.join(loss_names)}. Choose the axes among them."
      )


def pareto_front(points) -> np.ndarray:
  """Indices of the points no other point dominates, ordered along the front.

  Both coordinates are minimised. A point is dominated when another is no
  worse in both coordinates and better in one; of several identical points
  only the first is kept. Points with a NaN coordinate are never on the front.

  Args:
    points: array-like [N, 2] of (x, y).

  Returns:
    int array of indices into `points`, by increasing x (so decreasing y).
  """
  points = np.asarray(points, dtype=float).reshape(-1, 2)
  valid = np.flatnonzero(~np.isnan(points).any(axis=1))
  # By x, then y, then index: the first of equal points comes first.
  order = valid[np.lexsort((valid, points[valid, 1], points[valid, 0]))]
  front, best_y = [], math.inf
  for index in order:
    if points[index, 1] < best_y:
      front.append(index)
      best_y = points[index, 1]
  return np.array(front, dtype=int)


@dataclasses.dataclass(frozen=True)
class Point:
  """One model at one β: its two axis losses and its full loss there."""

  beta: float
  x: float
  y: float
  full_loss: float
  label: str = ""


@dataclasses.dataclass(frozen=True)
class ComparisonRow:
  """Everything known at one β of the eval grid.

  `fixed` is the fixed model trained at this β (None if there is none), so
  the gaps are None there too.
  """

  beta: float
  weights: Dict[str, float]
  yoto: Point
  fixed: Optional[Point]
  single_model: Optional[Point]

  @property
  def yoto_gap(self) -> Optional[float]:
    return _gap(self.yoto, self.fixed)

  @property
  def single_model_gap(self) -> Optional[float]:
    return _gap(self.single_model, self.fixed)


def _gap(point: Optional[Point], reference: Optional[Point]):
  if point is None or reference is None:
    return None
  return point.full_loss - reference.full_loss


@dataclasses.dataclass(frozen=True)
class Comparison:
  """A YOTO run against fixed-weight runs, ready to plot or tabulate.

  Attributes:
    axes: the loss axes.
    yoto: the YOTO run.
    fixed: the fixed-weight runs, by increasing β.
    single_model: the fixed run with the lowest mean full loss over the
      grid (None without fixed runs).
    rows: one per eval weight of the grid, by increasing β.
  """

  axes: LossAxes
  yoto: metrics.RunMetrics
  fixed: List[metrics.RunMetrics]
  single_model: Optional[metrics.RunMetrics]
  rows: List[ComparisonRow]

  def yoto_points(self) -> List[Point]:
    return [row.yoto for row in self.rows]

  def fixed_points(self) -> List[Point]:
    """Each fixed model at the β it was trained for."""
    return [_own_point(run, self.axes) for run in self.fixed]

  def single_model_points(self) -> List[Point]:
    """The single-model baseline: one model, so one point on the axes."""
    if self.single_model is None:
      return []
    return [_own_point(self.single_model, self.axes)]


def _point(
  values: Mapping[str, float],
  weights: Mapping[str, float],
  axes: LossAxes,
  label: str = "",
) -> Point:
  return Point(
    beta=axes.beta(weights),
    x=values[axes.x],
    y=values[axes.y],
    full_loss=full_loss(values, weights),
    label=label,
  )


def _own_point(run: metrics.RunMetrics, axes: LossAxes) -> Point:
  return _point(run.own_values(), run.train_weights, axes, run.name)


def full_loss(
  values: Mapping[str, float], weights: Mapping[str, float]
) -> float:
  """Σ_i w_i L_i from mean losses (the full loss is linear in them)."""
  return float(
    sum(float(w) * float(values[name]) for name, w in weights.items())
  )


def single_model_baseline(
  fixed: Sequence[metrics.RunMetrics], grid: Sequence[Mapping[str, float]]
) -> Optional[metrics.RunMetrics]:
  """The fixed run whose mean full loss over the `grid` weights is lowest."""
  if not fixed:
    return None
  means = [
    np.mean([full_loss(run.own_values(), w) for w in grid]) for run in fixed
  ]
  return fixed[int(np.argmin(means))]


def compare(
  yoto: metrics.RunMetrics,
  fixed: Sequence[metrics.RunMetrics] = (),
  axes: LossAxes = LossAxes(),
) -> Comparison:
  """Builds the comparison of a YOTO run with fixed-weight runs.

  Args:
    yoto: the YOTO run, evaluated at the grid of weights.
    fixed: fixed-weight runs with known `train_weights` (as returned by
      `metrics.load_comparison`).
    axes: which losses to compare.

  Returns:
    A Comparison. Its rows follow the YOTO run's eval weights; a fixed
    model trained at weights outside that grid still appears on the
    frontier, but in no row.
  """
  axes.check(yoto.loss_names)
  fixed = sorted(fixed, key=lambda run: axes.beta(run.train_weights))
  grid = sorted(yoto.eval_weights, key=axes.beta)
  single = single_model_baseline(fixed, grid)
  by_weights = {metrics.weights_key(run.train_weights): run for run in fixed}
  rows = []
  for weights in grid:
    trained_here = by_weights.get(metrics.weights_key(weights))
    rows.append(
      ComparisonRow(
        beta=axes.beta(weights),
        weights=dict(weights),
        yoto=_point(yoto.values_at(weights), weights, axes, "YOTO"),
        fixed=None
        if trained_here is None
        else _point(
          trained_here.own_values(), weights, axes, trained_here.name
        ),
        single_model=None
        if single is None
        else _point(single.own_values(), weights, axes, single.name),
      )
    )
  return Comparison(
    axes=axes, yoto=yoto, fixed=list(fixed), single_model=single, rows=rows
  )
