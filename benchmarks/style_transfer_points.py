"""The Figure-6a weight vectors: the labels of the style-transfer protocol.

The paper's Figure 6a sweeps one loss weight at a time around Ghiasi et
al.'s default: each swept weight ÷10 and x10, the others at the default.
Each such vector (`WeightPoint`) is where one fixed model is trained
(`reproduce_style_transfer`) and where every method is compared with it
(`style_transfer_report`), so it labels the protocol's curves
(`point_of`).
"""

import dataclasses
from typing import Dict, List, Mapping, Sequence, Tuple

from yoto.analysis import metrics

FACTOR = 10.0


@dataclasses.dataclass(frozen=True, order=True)
class WeightPoint:
  """One Figure-6a weight vector, the label of the protocol's curves.

  Sorted by `order` (the default first, then each swept weight ÷10 and
  x10), so tables and figures keep that order.

  Attributes:
    order: its place in tables.
    name: the readable label, e.g. 'content x10'.
    model: the fixed-weight model trained at it, e.g. 'fixed_content_x10'.
    varied: the swept loss ('' for the default).
    weights: the whole weight vector as sorted (loss, weight) pairs.
  """

  order: int
  name: str = dataclasses.field(compare=False)
  model: str = dataclasses.field(compare=False)
  varied: str = dataclasses.field(compare=False)
  weights: Tuple[Tuple[str, float], ...] = dataclasses.field(compare=False)

  def as_dict(self) -> Dict[str, float]:
    return dict(self.weights)


def figure6a_points(
  default: Mapping[str, float], varied: Sequence[str], short: Mapping[str, str]
) -> List[WeightPoint]:
  """The default, then each loss of `varied` ÷ and x FACTOR, the others at
  the default (3 significant digits); `short` names the losses."""

  def point(order, name, model, loss, weights):
    return WeightPoint(
      order,
      name,
      model,
      loss,
      tuple(sorted((k, float(f"{v:.3g}")) for k, v in weights.items())),
    )

  points = [point(0, "default", "fixed_default", "", default)]
  for loss in varied:
    for factor, text, tag in ((1 / FACTOR, "÷", "div"), (FACTOR, "x", "x")):
      points.append(
        point(
          len(points),
          f"{short[loss]} {text}{FACTOR:g}",
          f"fixed_{short[loss]}_{tag}{FACTOR:g}",
          loss,
          {**default, loss: default[loss] * factor},
        )
      )
  return points


def on_line(point: WeightPoint, loss: str) -> bool:
  """Whether `point` is the default or `loss` moved alone."""
  return point.varied in ("", loss)


def point_of(points: Sequence[WeightPoint]):
  """weights dict -> its WeightPoint (KeyError for any other vector)."""
  by_key = {metrics.weights_key(p.as_dict()): p for p in points}
  return lambda weights: by_key[metrics.weights_key(weights)]
