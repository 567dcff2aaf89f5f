"""Statistics over seeds for the reproductions: is a gap real or noise?

Every reproduction trains each model (fixed-weight and YOTO) with several
seeds and evaluates it at several checkpoints. Its results are one nested
mapping, `Curves`:

  curves[model][seed][step][label] = test full loss

where `label` names an eval weight vector (β for the VAE, λ for the codec).
From it this module computes, all as plain numbers so that tests can check
them against hand-computed values:

- `interval`: the mean of a sample and the half-width of its 95 % Student-t
  confidence interval;
- `paired_gap`: method minus reference over the seeds both have (a seed's
  fixed model and YOTO model share the seed, so pairing removes the part of
  the noise that the seed's data order and initialisation share; with
  independent seeds it is an unpaired difference of means in effect);
- `gap_rows`: per label, the fixed model's loss, its seed-to-seed spread (the
  noise floor) and every method's gap as an interval;
- `own_models_curve`, `envelope`: the fixed sweep as one curve, each
  label's own fixed model or the lowest loss any fixed model reaches there
  (a reference that does not depend on one model having trained well);
- `gap_curve`, `relative_gap_curve`: a method's gap at one label against
  training steps (in loss units, or relative to the fixed loss);
- `convergence`: whether a model's learning curve has flattened, from the
  share of its improvement made in the last quarter of the run.
"""

import dataclasses
import math
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from scipy import stats

# curves[model][seed][step][label] -> full loss.
Curves = Mapping[str, Mapping[int, Mapping[int, Mapping[float, float]]]]

CONFIDENCE = 0.95
# A model has plateaued when its last quarter brought at most this share of
# its improvement since the first evaluation.
PLATEAU_SHARE = 0.05


@dataclasses.dataclass(frozen=True)
class Interval:
  """`mean ± half_width` over `n` values (half_width None when n < 2)."""

  mean: float
  half_width: Optional[float]
  n: int
  std: Optional[float] = None

  def format(self, digits: int = 1, sign: bool = False) -> str:
    mean = f"{self.mean:+.{digits}f}" if sign else f"{self.mean:.{digits}f}"
    if self.half_width is None:
      return mean
    return f"{mean} ± {self.half_width:.{digits}f}"

  def to_json(self) -> dict:
    return dataclasses.asdict(self)

  def scaled(self, factor: float) -> "Interval":
    """The interval of `factor` times the values (`factor` > 0)."""
    scale = lambda v: None if v is None else v * factor
    return Interval(
      self.mean * factor, scale(self.half_width), self.n, scale(self.std)
    )


def interval(
  values: Sequence[float], confidence: float = CONFIDENCE
) -> Optional[Interval]:
  """Mean and Student-t half-width `t_{(1+c)/2, n-1} * s / sqrt(n)`.

  Returns None for no values; a single value has no half-width.
  """
  values = [float(v) for v in values if v is not None]
  if not values:
    return None
  mean = float(np.mean(values))
  if len(values) < 2:
    return Interval(mean, None, 1)
  std = float(np.std(values, ddof=1))
  t = float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1))
  return Interval(mean, t * std / math.sqrt(len(values)), len(values), std)


def paired_gap(
  method: Mapping[int, float], reference: Mapping[int, float]
) -> Optional[Interval]:
  """Interval of `method[s] - reference[s]` over the seeds in both."""
  seeds = sorted(set(method) & set(reference))
  return interval([method[s] - reference[s] for s in seeds])


def final_step(curves: Curves, models: Sequence[str]) -> Optional[int]:
  """The largest step that every seed of every model in `models` reached."""
  steps = [
    max(per_step) for m in models for per_step in curves[m].values() if per_step
  ]
  return min(steps) if steps else None


def at_step(
  curves: Curves, model: str, label: float, step: int
) -> Dict[int, float]:
  """seed -> the model's loss at `label` and `step` (seeds that have it)."""
  return {
    seed: per_step[step][label]
    for seed, per_step in curves.get(model, {}).items()
    if step in per_step and label in per_step[step]
  }


def single_model(
  curves: Curves, fixed: Mapping[float, str], step: int
) -> Optional[str]:
  """The best one model of the sweep: the fixed model whose seed-mean loss,
  relative to each label's own fixed model, is lowest on average over the
  labels.

  Relative, because the labels' losses differ in scale (a β-VAE's full loss
  grows with β): averaged in absolute terms, the labels with the largest
  losses would choose alone, and the choice would be a model at one end of
  the range. Where some fixed model's loss is not positive, the ratios mean
  nothing and the absolute losses are averaged instead.
  """

  def seed_mean(model, label):
    values = at_step(curves, model, label, step)
    return float(np.mean(list(values.values()))) if values else None

  own = {label: seed_mean(model, label) for label, model in fixed.items()}
  relative = all(v is not None and v > 0 for v in own.values())
  best, best_score = None, math.inf
  for model in fixed.values():
    losses = {label: seed_mean(model, label) for label in fixed}
    if any(v is None for v in losses.values()):
      continue
    score = np.mean(
      [v / own[label] if relative else v for label, v in losses.items()]
    )
    if score < best_score:
      best, best_score = model, float(score)
  return best


def own_models_curve(
  curves: Curves, fixed: Mapping[float, str]
) -> Dict[int, Dict[int, Dict[float, float]]]:
  """seed -> step -> label -> the loss of `fixed[label]` (the model trained
  at that label) there: the fixed sweep read as one model."""
  result = {}
  for label, model in fixed.items():
    for seed, per_step in curves.get(model, {}).items():
      for step, values in per_step.items():
        if label in values:
          result.setdefault(seed, {}).setdefault(step, {})[label] = values[
            label
          ]
  return result


def envelope(
  curves: Curves, models: Sequence[str]
) -> Tuple[
  Dict[int, Dict[int, Dict[float, float]]],
  Dict[int, Dict[int, Dict[float, str]]],
]:
  """The sweep's envelope: for each seed, step and label, the lowest loss
  that any of `models` reaches there, and which model reaches it.

  A fixed model should be the best model at its own label; where another
  model of the same seed beats it, the own model is not a trained
  reference, and the envelope is what training the sweep buys a user who
  picks, for each label, the best of its models.

  Returns:
    (losses, chosen): seed -> step -> label -> loss, and the same -> the
    model's name (the first of `models` on ties).
  """
  losses, chosen = {}, {}
  for model in models:
    for seed, per_step in curves.get(model, {}).items():
      for step, values in per_step.items():
        best = losses.setdefault(seed, {}).setdefault(step, {})
        names = chosen.setdefault(seed, {}).setdefault(step, {})
        for label, value in values.items():
          if label not in best or value < best[label]:
            best[label], names[label] = value, model
  return losses, chosen


def gap_rows(
  curves: Curves,
  fixed: Mapping[float, str],
  methods: Sequence[str],
  step: int,
  baseline: Optional[str] = None,
  method_steps: Optional[Mapping[str, int]] = None,
) -> List[dict]:
  """Per label: the fixed model's loss and every method's gap to it.

  Args:
    curves: see the module docstring.
    fixed: label -> the fixed model trained at that label.
    methods: the models compared with the fixed ones (YOTO variants).
    step: the step compared.
    baseline: a model added as 'single_model' (e.g. `single_model(...)`).
    method_steps: the step of a method trained for another number of steps
      (e.g. a YOTO model given the whole sweep's compute), compared at its
      own step with the fixed models at `step`.

  Returns:
    One dict per label, in label order: `label`, `fixed` (Interval of the
    fixed model's loss over seeds: its std is the noise floor), `gaps`
    (method -> Interval of the paired gap in loss units, > 0: worse than
    the fixed model) and `relative` (method -> gap mean / |fixed mean|, None
    where the fixed loss is near zero: below a tenth of the median |fixed
    loss| of all labels).
  """
  names = list(methods) + (["single_model"] if baseline else [])
  models = dict(
    zip(methods, methods), **({"single_model": baseline} if baseline else {})
  )
  rows = []
  for label in sorted(fixed):
    reference = at_step(curves, fixed[label], label, step)
    own_step = lambda name: (method_steps or {}).get(name, step)
    rows.append(
      {
        "label": label,
        "fixed": interval(list(reference.values())),
        "gaps": {
          name: paired_gap(
            at_step(curves, models[name], label, own_step(name)), reference
          )
          for name in names
        },
      }
    )
  scales = [abs(r["fixed"].mean) for r in rows if r["fixed"]]
  near_zero = 0.1 * float(np.median(scales)) if scales else 0.0
  for row in rows:
    fixed_mean = row["fixed"].mean if row["fixed"] else None
    row["relative"] = {
      name: None
      if gap is None or fixed_mean is None or abs(fixed_mean) <= near_zero
      else gap.mean / abs(fixed_mean)
      for name, gap in row["gaps"].items()
    }
  return rows


def gap_curve(
  curves: Curves, fixed: Mapping[float, str], method: str, label: float
) -> Dict[int, Interval]:
  """step -> the method's paired gap at `label`, at every step where both
  the method and the fixed model were evaluated."""
  steps = sorted(
    {step for per_step in curves.get(method, {}).values() for step in per_step}
  )
  result = {}
  for step in steps:
    gap = paired_gap(
      at_step(curves, method, label, step),
      at_step(curves, fixed[label], label, step),
    )
    if gap is not None:
      result[step] = gap
  return result


def relative_gap_curve(
  curves: Curves, fixed: Mapping[float, str], method: str, label: float
) -> Dict[int, Interval]:
  """`gap_curve` as a fraction of the fixed model's seed-mean loss at each
  step (mean, half-width and sd scaled alike; steps where that loss is 0
  are left out). For losses whose scale differs by label, where a gap in
  loss units cannot be compared across labels or read against steps."""
  result = {}
  for step, gap in gap_curve(curves, fixed, method, label).items():
    reference = np.mean(
      list(at_step(curves, fixed[label], label, step).values())
    )
    if not reference:
      continue
    result[step] = gap.scaled(1.0 / abs(float(reference)))
  return result


def convergence(
  curve: Mapping[int, float], plateau_share: float = PLATEAU_SHARE
) -> Optional[dict]:
  """How much a learning curve (step -> loss, lower is better) still moved
  in the last quarter of the run.

  Returns None with fewer than three evaluated steps, else a dict:
    `last_quarter_change`: loss at the last step evaluated at or before 3/4
      of the final step minus the final loss (> 0: still improving);
    `relative_change`: that change over |final loss|;
    `share_of_improvement`: that change over the improvement since the
      first evaluation (robust where the loss is near zero);
    `plateaued`: share_of_improvement <= plateau_share.
  """
  steps = sorted(curve)
  if len(steps) < 3:
    return None
  last = steps[-1]
  quarter = max((s for s in steps if s <= 0.75 * last), default=steps[0])
  change = curve[quarter] - curve[last]
  improvement = curve[steps[0]] - curve[last]
  share = change / improvement if improvement > 0 else math.inf
  return {
    "from_step": quarter,
    "to_step": last,
    "last_quarter_change": change,
    "relative_change": (change / abs(curve[last]) if curve[last] else None),
    "share_of_improvement": share,
    "plateaued": share <= plateau_share,
  }


def model_convergence(
  curves: Curves, model: str, labels: Sequence[float]
) -> Optional[dict]:
  """The convergence of a model's seed-mean curve at each of `labels`; the
  model has plateaued when it has at every label. Returns the worst label's
  statement (largest share of improvement) with `label` added."""
  worst = None
  for label in labels:
    per_seed = [
      {
        step: values[label]
        for step, values in per_step.items()
        if label in values
      }
      for per_step in curves.get(model, {}).values()
    ]
    steps = set.intersection(*(set(c) for c in per_seed)) if per_seed else set()
    mean_curve = {s: float(np.mean([c[s] for c in per_seed])) for s in steps}
    statement = convergence(mean_curve)
    if statement is None:
      continue
    if worst is None or (
      statement["share_of_improvement"] > worst["share_of_improvement"]
    ):
      worst = dict(statement, label=label)
  return worst
